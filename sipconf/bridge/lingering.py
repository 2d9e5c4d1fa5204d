"""Finished server transactions, kept small while they absorb retransmissions.

Once a server transaction has nothing left to do for its TU (a non-INVITE one Completed, an
INVITE one Confirmed by the ACK of its non-2xx, or Accepted and its 2xx acknowledged), RFC
3261 17.2 and RFC 6026 still keep it for a while (Timer J, I or L) so that a retransmitted
request gets the same answer instead of reaching the TU again.  Keeping the whole transaction
object for that long holds its parsed request and response, its timer handles and closures:
about fifty objects the cyclic garbage collector tracks, per transaction, for 32 s.  At a few
hundred calls per second that population makes CPython's full collections stop the event loop
for hundreds of milliseconds.

``Finished`` is what such a transaction is reduced to: when it ends and, for a non-INVITE one,
its final response's bytes and where to resend them (a long-lived sender, the UDP socket, and
an address).  ``LingeringTable`` holds them by transaction key with one timer for the
whole table (armed for the earliest expiry, but sweeping at most once per ``SWEEP_INTERVAL``:
at a thousand calls a second entries fall due every few hundred microseconds, and a timer per
entry costs more than the entry), a heap of expiries, and at most ``capacity`` entries (when
full, the entry added first goes).  An entry can so outlive its timer by up to
``SWEEP_INTERVAL``: it goes on absorbing retransmissions a little longer, which RFC 3261's
timers allow (they bound how long a transaction must last, not how soon it must go).
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
from collections import OrderedDict
from typing import Generic, Hashable, NamedTuple, Protocol, TypeVar

from sipconf.bridge.clock import Clock, SweepTimer

__all__ = ["MAX_LINGERING", "SWEEP_INTERVAL", "Finished", "LingeringTable", "Resender"]

log = logging.getLogger("sipconf.bridge.lingering")

# 64*T1 = 32 s of finished transactions: two per call (INVITE, BYE) at 1,000 calls/s.
MAX_LINGERING = 65536
SWEEP_INTERVAL = 0.1  # seconds: the least time between two sweeps of the table


class Resender(Protocol):
    """A long-lived sender (a UDP socket, a TCP connection): an entry refers to it and to an
    address, never to the per-message state a response was first sent with."""

    def resend(self, data: bytes, to: tuple[str, int] | None) -> None: ...


class Finished(NamedTuple):
    """A server transaction done with its TU, until ``expires``.  ``response`` (with its
    sender and address) is what a retransmitted request gets again; None: the request is
    absorbed with no answer (an INVITE once Confirmed or Accepted, RFC 3261 17.2.1, RFC 6026
    7.1).  ``to_tag`` is the To tag of the final response, which is how an RFC 2543 client's
    ACK is told apart (RFC 3261 17.2.3); empty when nothing needs it."""

    expires: float
    state: enum.Enum
    response: bytes | None = None
    sender: Resender | None = None
    to: tuple[str, int] | None = None
    to_tag: str = ""

    def absorb(self) -> None:
        """A retransmitted request: the same response again, or nothing."""
        if self.response is not None and self.sender is not None:
            self.sender.resend(self.response, self.to)


K = TypeVar("K", bound=Hashable)


class LingeringTable(Generic[K]):
    """Finished transactions by key, each forgotten at its ``expires`` on the injected clock."""

    def __init__(self, clock: Clock, capacity: int = MAX_LINGERING) -> None:
        self.clock = clock
        self.capacity = capacity
        self.evicted = 0  # entries forgotten early because the table was full
        # In the order they were added. An OrderedDict: past a few hundred calls a second the
        # table is full and every add drops the oldest entry, and expired entries leave from its
        # front; a dict would find its first key by scanning past every deleted one.
        self._entries: OrderedDict[K, Finished] = OrderedDict()
        self._expiries: list[tuple[float, int, K]] = []  # a heap; entries removed early stay until due
        self._order = itertools.count()  # ties in the heap never compare keys
        self._sweeper = SweepTimer(clock, SWEEP_INTERVAL, self._sweep)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> Finished | None:
        return self._entries.get(key)

    def add(self, key: K, entry: Finished) -> None:
        self._entries.pop(key, None)  # added again: it goes to the end of the order
        while len(self._entries) >= self.capacity and self._entries:
            self._entries.popitem(last=False)
            self.evicted += 1
            log.debug("a finished transaction forgotten early: %d in the table", self.capacity)
        self._entries[key] = entry
        heapq.heappush(self._expiries, (entry.expires, next(self._order), key))
        if len(self._expiries) > 2 * max(self.capacity, len(self._entries)):
            self._compact()
        self._arm()

    def _compact(self) -> None:
        """Drop the heap's items for entries already gone (evicted), so it stays bounded too."""
        self._expiries = [(entry.expires, next(self._order), key) for key, entry in self._entries.items()]
        heapq.heapify(self._expiries)

    def _arm(self) -> None:
        """One timer for the table, for its earliest expiry."""
        if self._expiries:
            self._sweeper.want(self._expiries[0][0])

    def _sweep(self, until: float) -> None:
        heap = self._expiries
        while heap and heap[0][0] <= until:
            expires, _, key = heapq.heappop(heap)
            entry = self._entries.get(key)
            if entry is not None and entry.expires <= until:
                del self._entries[key]
        self._arm()
