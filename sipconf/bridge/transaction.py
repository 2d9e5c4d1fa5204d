"""SIP transactions (RFC 3261 17, with the RFC 6026 Accepted states) and their manager.

A transaction owns its timers (on the injected ``Clock``) and talks to the outside through
two plain callables: ``send(message)`` puts bytes on its transport, and the TU callbacks
(``on_response``, ``on_timeout``, ``on_terminated``) report upward.  Nothing here knows
about sockets or calls.  Every state change goes through ``_set_state``, which logs it.

A server transaction the manager created does not linger as itself once its TU is done with
it (a non-INVITE one Completed, an INVITE one Confirmed, or Accepted and its 2xx ACKed): the
manager keeps only its key and what a retransmission gets (``sipconf.bridge.lingering``) until
its Timer J, I or L would have ended it, and lets go of the object, which keeps the state it
had then.  A transaction built on its own runs those timers itself.

Nothing here grows without bound: a server transaction that still owes a final response and
has sent nothing for ``UNANSWERED`` seconds (a request the TU dropped on purpose) ends, as the
client's own Timer B or F gives up by then; each table holds at most ``max_server`` /
``max_client`` entries, and the finished ones at most ``max_lingering``.
When a table is full, the oldest transaction that only lingers to absorb retransmissions
(Completed, Confirmed, Accepted) is ended to make room; when none lingers, the oldest server
transaction is ended all the same, and a new client transaction is refused with ValueError.
When the finished ones are too many, the first of them goes.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Callable

from sipconf.bridge.clock import Clock, TimerHandle
from sipconf.bridge.lingering import MAX_LINGERING, Finished, LingeringTable, Resender
from sipconf.routing.ids import random_bytes
from sipconf.sip.message import Message, Request, Response, canonical_name, make_response

__all__ = [
    "T1",
    "T2",
    "T4",
    "ClientState",
    "Delivery",
    "InviteClientTransaction",
    "InviteServerTransaction",
    "NonInviteClientTransaction",
    "NonInviteServerTransaction",
    "ServerState",
    "TransactionManager",
    "build_ack_for_non2xx",
    "build_cancel",
    "new_branch",
]

log = logging.getLogger("sipconf.bridge.transaction")

# RFC 3261 17.1.1.1 / table 4: timer values.
T1 = 0.5
T2 = 4.0
T4 = 5.0
UNANSWERED = 64 * T1  # a server transaction with no response by then is forgotten
MAX_SERVER_TRANSACTIONS = 8192
MAX_CLIENT_TRANSACTIONS = 8192
MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 8.1.1.7

Send = Callable[[Message], None]


def new_branch() -> str:
    """A branch unique in space and time, starting with the RFC 3261 magic cookie."""
    return MAGIC_COOKIE + random_bytes(8).hex()


class ServerState(enum.Enum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class ClientState(enum.Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class _Transaction:
    """Shared plumbing: state logging, named timers, termination callback."""

    kind = "transaction"

    def __init__(self, request: Request, send: Send, reliable: bool, clock: Clock) -> None:
        self.request = request
        self.send = send
        self.reliable = reliable
        self.clock = clock
        self.branch = request.top_via.branch or ""
        self.on_terminated: Callable[[_Transaction], None] | None = None
        # Set by the manager: takes over once only retransmissions are left to absorb, with the
        # time the transaction would end (see the module's docstring).
        self.on_finished: Callable[[_Transaction, float], None] | None = None
        self._timers: dict[str, TimerHandle] = {}
        self.state: enum.Enum

    def _set_state(self, new: enum.Enum) -> None:
        old = self.state
        if old is new:
            return
        log.debug("%s %s: %s -> %s", self.kind, self.branch, old.value, new.value)
        self.state = new
        if new.name == "TERMINATED":
            self._cancel_all()
            if self.on_terminated is not None:
                self.on_terminated(self)

    def _start_timer(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer(name)
        self._timers[name] = self.clock.call_later(delay, lambda: self._fire(name, callback))

    def _fire(self, name: str, callback: Callable[[], None]) -> None:
        self._timers.pop(name, None)
        callback()

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _cancel_all(self) -> None:
        for name in list(self._timers):
            self._cancel_timer(name)

    @property
    def terminated(self) -> bool:
        return self.state.name == "TERMINATED"

    @property
    def lingering(self) -> bool:
        """Done with the TU: only absorbing retransmissions until a timer ends it."""
        return self.state.name in ("COMPLETED", "CONFIRMED", "ACCEPTED")

    def _linger(self, timer: str, delay: float) -> None:
        """Only retransmissions are left to absorb, for ``delay`` seconds (Timer I or J): the
        manager takes that over, or this transaction's own ``timer`` ends it."""
        if self.on_finished is not None and delay > 0:
            self._hand_over(self.on_finished, self.clock.now() + delay)
        else:
            self._start_timer(timer, delay, lambda: self._set_state(ServerState.TERMINATED))

    def _hand_over(self, on_finished: Callable[[_Transaction, float], None], expires: float) -> None:
        self._cancel_all()
        log.debug("%s %s: %s, the manager absorbs its retransmissions for %g s", self.kind, self.branch,
                  self.state.value, expires - self.clock.now())
        on_finished(self, expires)

    def abandon(self) -> None:
        """End now, silently: no response, no TU callback (the table has no room for it)."""
        self._set_state(self.state.__class__.TERMINATED)

    def _watch_unanswered(self) -> None:
        self._last_sent = self.clock.now()
        self._start_timer("unanswered", UNANSWERED, self._unanswered)

    def _unanswered(self) -> None:
        # The TU dropped the request (docs/livekit.md#auth-step: an AuthDrop sends nothing
        # more): retransmissions were absorbed meanwhile, and past the client's Timer B or F
        # none will come.  A ringing INVITE sends 180 again every second, so it never gets here.
        if self.state.name not in ("TRYING", "PROCEEDING"):
            return
        quiet = self.clock.now() - self._last_sent
        if quiet >= UNANSWERED:
            log.debug("%s %s: no response for %g s, forgotten", self.kind, self.branch, quiet)
            self.abandon()
        else:
            self._start_timer("unanswered", UNANSWERED - quiet, self._unanswered)


# ---------------------------------------------------------------------------------------
# Server transactions (RFC 3261 17.2)
# ---------------------------------------------------------------------------------------


class InviteServerTransaction(_Transaction):
    """RFC 3261 17.2.1 (figure 7) with RFC 6026 7.1's Accepted state.

    Sends 100 Trying at once, resends the last response when the INVITE is retransmitted,
    retransmits a 300-699 on Timer G (UDP) until ACK or Timer H, absorbs the ACK and waits
    Timer I.  2xx responses are retransmitted too (RFC 3261 13.3.1.4: T1 doubling to T2,
    until the ACK or 64*T1 — Timer L of RFC 6026).
    """

    kind = "INVITE server"

    def __init__(
        self,
        request: Request,
        send: Send,
        reliable: bool,
        clock: Clock,
        send_trying: bool = True,
        on_timeout: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(request, send, reliable, clock)
        self.state = ServerState.PROCEEDING
        self.on_timeout = on_timeout
        self.last_response: Response | None = None
        self.acked = False
        self._timer_l_due = 0.0  # when Timer L ends the Accepted state (set with the 2xx)
        self.on_accepted: Callable[[InviteServerTransaction], None] | None = None
        self._interval = T1
        self._watch_unanswered()
        if send_trying:
            # RFC 3261 17.2.1: the server transaction MUST generate a 100 (Trying) unless
            # the TU answers within 200 ms; sending it at once is always allowed.
            self.respond(make_response(request, 100, "Trying"))

    def respond(self, response: Response) -> None:
        if self.state is ServerState.PROCEEDING:
            self._last_sent = self.clock.now()
            self.last_response = response
            self.send(response)
            if response.status < 200:
                return
            if response.status < 300:
                # RFC 6026 7.1: Proceeding -> Accepted on 2xx; Timer L = 64*T1.
                self._set_state(ServerState.ACCEPTED)
                self._timer_l_due = self.clock.now() + 64 * T1
                if self.on_accepted is not None:
                    self.on_accepted(self)
                self._start_timer("L", 64 * T1, self._timer_l)
                if not self.reliable:
                    self._start_timer("2xx", T1, self._retransmit_2xx)
                return
            self._set_state(ServerState.COMPLETED)
            if not self.reliable:
                self._start_timer("G", T1, self._timer_g)
            self._start_timer("H", 64 * T1, self._timer_h)
        elif self.state is ServerState.ACCEPTED and 200 <= response.status < 300:
            self.send(response)  # RFC 6026 7.1: further 2xx from the TU pass through
        else:
            raise ValueError(f"cannot send {response.status} in state {self.state.value}")

    def receive(self, request: Request) -> None:
        """A retransmitted INVITE or the ACK for a non-2xx final response."""
        if request.method == "ACK":
            if self.state is ServerState.COMPLETED:
                # RFC 3261 17.2.1: ACK in Completed -> Confirmed; Timer I = T4 (0 on TCP).
                self._cancel_timer("G")
                self._cancel_timer("H")
                self._set_state(ServerState.CONFIRMED)
                self._linger("I", 0 if self.reliable else T4)
            return  # absorbed in Confirmed as well
        if self.state in (ServerState.PROCEEDING, ServerState.COMPLETED) and self.last_response is not None:
            self.send(self.last_response)

    def ack_2xx(self) -> None:
        """The TU saw the ACK for our 2xx (it has its own branch): stop retransmitting.  What
        is left until Timer L is absorbing retransmitted INVITEs (RFC 6026 7.1)."""
        self.acked = True
        self._cancel_timer("2xx")
        if self.on_finished is not None and self.state is ServerState.ACCEPTED:
            self._hand_over(self.on_finished, self._timer_l_due)

    def _retransmit_2xx(self) -> None:
        if self.state is ServerState.ACCEPTED and not self.acked and self.last_response is not None:
            self.send(self.last_response)
            self._interval = min(self._interval * 2, T2)
            self._start_timer("2xx", self._interval, self._retransmit_2xx)

    def _timer_g(self) -> None:
        if self.state is ServerState.COMPLETED and self.last_response is not None:
            self.send(self.last_response)
            self._interval = min(self._interval * 2, T2)
            self._start_timer("G", self._interval, self._timer_g)

    def _timer_h(self) -> None:
        # RFC 3261 17.2.1: Timer H fires in Completed -> Terminated, the TU is told.
        if self.state is ServerState.COMPLETED:
            self._set_state(ServerState.TERMINATED)
            if self.on_timeout is not None:
                self.on_timeout()

    def _timer_l(self) -> None:
        unacked = not self.acked
        self._set_state(ServerState.TERMINATED)
        if unacked and self.on_timeout is not None:
            self.on_timeout()  # RFC 3261 13.3.1.4: no ACK -> the TU should BYE


class NonInviteServerTransaction(_Transaction):
    """RFC 3261 17.2.2 (figure 8): Trying -> Proceeding -> Completed --Timer J--> Terminated."""

    kind = "non-INVITE server"

    def __init__(self, request: Request, send: Send, reliable: bool, clock: Clock) -> None:
        super().__init__(request, send, reliable, clock)
        self.state = ServerState.TRYING
        self.last_response: Response | None = None
        self._watch_unanswered()

    def respond(self, response: Response) -> None:
        if self.state not in (ServerState.TRYING, ServerState.PROCEEDING):
            raise ValueError(f"cannot send {response.status} in state {self.state.value}")
        self._last_sent = self.clock.now()
        self.last_response = response
        self.send(response)
        if response.status < 200:
            self._set_state(ServerState.PROCEEDING)
            return
        self._set_state(ServerState.COMPLETED)
        # Timer J = 64*T1 for unreliable transports, zero for reliable ones.
        self._linger("J", 0 if self.reliable else 64 * T1)

    def receive(self, request: Request) -> None:
        # Retransmission: absorbed in Trying, answered with the last response otherwise.
        if self.last_response is not None and self.state in (ServerState.PROCEEDING, ServerState.COMPLETED):
            self.send(self.last_response)


# ---------------------------------------------------------------------------------------
# Client transactions (RFC 3261 17.1)
# ---------------------------------------------------------------------------------------

OnResponse = Callable[[Response], None]


class _ClientTransaction(_Transaction):
    """Shared client plumbing: the TU callbacks, the retransmit interval, the timeout."""

    initial_state: ClientState

    def __init__(
        self,
        request: Request,
        send: Send,
        reliable: bool,
        clock: Clock,
        on_response: OnResponse,
        on_timeout: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(request, send, reliable, clock)
        self.state = self.initial_state
        self.on_response = on_response
        self.on_timeout = on_timeout
        self._interval = T1

    def _time_out(self, *states: ClientState) -> None:
        """Timer B / F: in one of ``states``, terminate and tell the TU."""
        if self.state in states:
            self._set_state(ClientState.TERMINATED)
            if self.on_timeout is not None:
                self.on_timeout()


class InviteClientTransaction(_ClientTransaction):
    """RFC 3261 17.1.1 (figure 5) with RFC 6026 7.2's Accepted state (Timer M)."""

    kind = "INVITE client"
    initial_state = ClientState.CALLING
    ack: Request | None = None  # the ACK for a non-2xx final, once sent

    def start(self) -> None:
        self.send(self.request)
        if not self.reliable:
            self._start_timer("A", T1, self._timer_a)  # RFC 3261 17.1.1.2
        self._start_timer("B", 64 * T1, self._timer_b)

    def _timer_a(self) -> None:
        if self.state is ClientState.CALLING:
            self.send(self.request)
            self._interval *= 2
            self._start_timer("A", self._interval, self._timer_a)

    def _timer_b(self) -> None:
        self._time_out(ClientState.CALLING)

    def receive(self, response: Response) -> None:
        status = response.status
        if self.state in (ClientState.CALLING, ClientState.PROCEEDING):
            if status < 200:
                self._cancel_timer("A")
                self._cancel_timer("B")
                self._set_state(ClientState.PROCEEDING)
            elif status < 300:
                self._set_state(ClientState.ACCEPTED)
                self._start_timer("M", 64 * T1, lambda: self._set_state(ClientState.TERMINATED))
            else:
                # RFC 3261 17.1.1.3: ACK the non-2xx final, then Completed with Timer D.
                self.ack = build_ack_for_non2xx(self.request, response)
                self.send(self.ack)
                self._set_state(ClientState.COMPLETED)
                self._start_timer("D", 0 if self.reliable else 32.0, lambda: self._set_state(ClientState.TERMINATED))
            self.on_response(response)
        elif self.state is ClientState.COMPLETED and status >= 300:
            if self.ack is not None:
                self.send(self.ack)  # retransmitted final: repeat the ACK, do not pass up
        elif self.state is ClientState.ACCEPTED and 200 <= status < 300:
            self.on_response(response)  # RFC 6026 7.2: 2xx retransmissions go to the TU


class NonInviteClientTransaction(_ClientTransaction):
    """RFC 3261 17.1.2 (figure 6): Timers E (retransmit), F (timeout), K (linger)."""

    kind = "non-INVITE client"
    initial_state = ClientState.TRYING

    def start(self) -> None:
        self.send(self.request)
        if not self.reliable:
            self._start_timer("E", T1, self._timer_e)
        self._start_timer("F", 64 * T1, self._timer_f)

    def _timer_e(self) -> None:
        if self.state in (ClientState.TRYING, ClientState.PROCEEDING):
            self.send(self.request)
            # Trying: double up to T2; Proceeding: always T2.
            self._interval = min(self._interval * 2, T2) if self.state is ClientState.TRYING else T2
            self._start_timer("E", self._interval, self._timer_e)

    def _timer_f(self) -> None:
        self._time_out(ClientState.TRYING, ClientState.PROCEEDING)

    def receive(self, response: Response) -> None:
        if self.state not in (ClientState.TRYING, ClientState.PROCEEDING):
            return  # Completed absorbs retransmitted finals
        if response.status < 200:
            self._set_state(ClientState.PROCEEDING)
        else:
            self._cancel_timer("E")
            self._cancel_timer("F")
            self._set_state(ClientState.COMPLETED)
            self._start_timer("K", 0 if self.reliable else T4, lambda: self._set_state(ClientState.TERMINATED))
        self.on_response(response)


# ---------------------------------------------------------------------------------------
# Requests the transaction layer builds itself
# ---------------------------------------------------------------------------------------

def _copy(request: Request, names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(n, v) for n, v in request.headers if canonical_name(n) in names]


def build_ack_for_non2xx(invite: Request, response: Response) -> Request:
    """RFC 3261 17.1.1.3: same Request-URI, Call-ID, From, top Via and Route as the INVITE,
    To from the response (it carries the tag), CSeq number of the INVITE with method ACK."""
    headers: list[tuple[str, str]] = [("Via", invite.values("via")[0])]
    headers += [("Max-Forwards", "70")]
    headers += _copy(invite, ("call-id", "from"))
    headers.append(("To", response.get("to") or invite.get("to") or ""))
    headers.append(("CSeq", f"{invite.cseq.seq} ACK"))
    headers += _copy(invite, ("route",))
    headers.append(("Content-Length", "0"))
    return Request(method="ACK", uri=invite.uri, headers=headers)


def build_cancel(invite: Request, extra: list[tuple[str, str]] | None = None) -> Request:
    """RFC 3261 9.1: CANCEL copies Request-URI, Call-ID, To, From, the top Via (same branch)
    and Route of the INVITE; CSeq has the INVITE's number and method CANCEL."""
    headers: list[tuple[str, str]] = [("Via", invite.values("via")[0]), ("Max-Forwards", "70")]
    headers += _copy(invite, ("call-id", "from", "to"))
    headers.append(("CSeq", f"{invite.cseq.seq} CANCEL"))
    headers += _copy(invite, ("route",))
    headers += extra or []
    headers.append(("Content-Length", "0"))
    return Request(method="CANCEL", uri=invite.uri, headers=headers)


# ---------------------------------------------------------------------------------------
# Matching (RFC 3261 17.1.3, 17.2.3)
# ---------------------------------------------------------------------------------------

ServerTransaction = InviteServerTransaction | NonInviteServerTransaction
ClientTransaction = InviteClientTransaction | NonInviteClientTransaction


@dataclass
class Delivery:
    """A request the TU must handle.

    ``transaction`` is the new server transaction to answer through (None for an ACK to a
    2xx, which has no transaction); for a CANCEL, ``cancels`` is the INVITE transaction it
    matches (None when there is none: the TU answers 481, unless ``cancels_finished``).
    """

    request: Request
    transaction: ServerTransaction | None
    cancels: InviteServerTransaction | None = None
    # A CANCEL whose INVITE transaction already finished (answered, ACKed, lingering): it
    # matched, so the TU answers 200, and there is nothing left to cancel (RFC 3261 9.2).
    cancels_finished: bool = False


ServerKey = tuple


def _is_rfc3261_branch(branch: str | None) -> bool:
    # RFC 3261 8.1.1.7: the cookie starts the branch; a bare cookie identifies nothing
    # (RFC 4475 3.2.1), so it gets the RFC 2543 procedure too.
    return bool(branch) and branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE)


def _to_tag(message: Message) -> str:
    try:
        return message.to.tag or ""
    except ValueError:
        return ""


def _from_tag(message: Message) -> str:
    try:
        return message.from_.tag or ""
    except ValueError:
        return ""


def _server_key(request: Request, method: str | None = None, to_tag: str | None = None) -> ServerKey:
    """The key a server transaction is stored under (RFC 3261 17.2.3).  ACK is keyed as the
    INVITE it acknowledges, CANCEL (with ``method="INVITE"``) as the INVITE it cancels."""
    via = request.top_via
    m = method or ("INVITE" if request.method == "ACK" else request.method)
    if _is_rfc3261_branch(via.branch):
        return (via.branch, via.sent_by.lower(), m)
    # RFC 3261 17.2.3, for RFC 2543 clients: Request-URI, To tag, From tag, Call-ID, CSeq
    # (the number; the method except for ACK and CANCEL, keyed as INVITE) and top Via.
    tag = _to_tag(request) if to_tag is None else to_tag
    return ("rfc2543", request.uri.strip(), tag, _from_tag(request), request.call_id,
            request.cseq.seq, m, via.transport, via.sent_by.lower(), via.branch or "")


def _acknowledges(ack: Request, found: ServerTransaction | Finished) -> bool:
    """RFC 3261 17.2.3: an RFC 2543 ACK matches its INVITE only if its To tag is the one of
    the response the transaction sent (that tells the ACK of our non-2xx apart)."""
    if isinstance(found, Finished):
        return _to_tag(ack) == found.to_tag
    response = found.last_response
    return response is not None and _to_tag(ack) == _to_tag(response)


ReplyPath = tuple[Resender, tuple[str, int]]


class _SendThrough:
    """Resends through a transaction's own ``send``, for one created without a reply path."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    def resend(self, data: bytes, to: tuple[str, int] | None) -> None:
        self.send(data)  # transports send bytes as they are


class TransactionManager:
    """Routes incoming messages to transactions, and creates them for the TU."""

    def __init__(self, clock: Clock, max_server: int = MAX_SERVER_TRANSACTIONS,
                 max_client: int = MAX_CLIENT_TRANSACTIONS, max_lingering: int = MAX_LINGERING) -> None:
        self.clock = clock
        self.max_server = max_server
        self.max_client = max_client
        self.evicted = 0  # transactions ended early because their table was full
        # Both tables are in creation order: the first entries are the oldest.
        self.server: dict[ServerKey, ServerTransaction] = {}
        self.client: dict[tuple[str, str], ClientTransaction] = {}
        # Server transactions done with their TU, as key -> what a retransmission gets.
        self.lingering: LingeringTable[ServerKey] = LingeringTable(clock, max_lingering)
        # (Call-ID, CSeq number) -> INVITE transaction whose 2xx awaits the ACK.
        self._accepted: dict[tuple[str, int], InviteServerTransaction] = {}

    def __len__(self) -> int:
        """Transactions not terminated yet: at work, and finished ones still lingering."""
        return len(self.server) + len(self.client) + len(self.lingering)

    def state_of(self, request: Request) -> enum.Enum | None:
        """The state of the server transaction ``request`` belongs to, at work or finished
        (a finished one keeps the state it finished in); None when there is none."""
        found = self._lookup(_server_key(request))
        return None if found is None else found.state

    def receive_request(
        self, request: Request, send: Send, reliable: bool, send_trying: bool = True,
        on_timeout: Callable[[], None] | None = None, reply_path: ReplyPath | None = None,
    ) -> Delivery | None:
        """Match or create a server transaction.  None means absorbed (a retransmission,
        or the ACK of a non-2xx final response).  ``reply_path`` is where a response to
        ``request`` goes, as a long-lived sender and an address: once the transaction is
        finished, a retransmitted request gets the same response through it (without it,
        through ``send``, which the finished transaction then keeps)."""
        key = _server_key(request)
        existing = self._matching(request, key)
        if isinstance(existing, Finished):
            existing.absorb()
            return None
        if existing is not None:
            existing.receive(request)
            return None
        if request.method == "ACK":
            accepted = self._accepted.pop((request.call_id, request.cseq.seq), None)
            if accepted is not None:
                accepted.ack_2xx()
            return Delivery(request, None)
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = InviteServerTransaction(request, send, reliable, self.clock, send_trying, on_timeout)
            tx.on_accepted = self._remember_accepted
        else:
            tx = NonInviteServerTransaction(request, send, reliable, self.clock)
        self._make_room(self.server, self.max_server, end_live=True)
        self.server[key] = tx
        tx.on_terminated = lambda t, k=key: self._forget_server(k, t)
        tx.on_finished = lambda t, expires, k=key: self._retire(k, t, expires, reply_path)
        cancels, finished = None, False
        if request.method == "CANCEL":
            target = self._lookup(_server_key(request, "INVITE"))
            if isinstance(target, InviteServerTransaction) and not target.terminated:
                cancels = target
            finished = isinstance(target, Finished)
        return Delivery(request, tx, cancels, finished)

    def has_invite(self, branch: str, sent_by: str) -> bool:
        """Whether an INVITE server transaction, at work or finished and lingering, has this
        RFC 3261 branch and sent-by (its retransmissions are absorbed, never shed)."""
        found = self._lookup((branch, sent_by, "INVITE"))
        if isinstance(found, InviteServerTransaction):
            return not found.terminated
        return found is not None

    def knows(self, request: Request) -> bool:
        """Whether a server transaction, at work or finished, has `request` (a retransmission, say)."""
        return self._matching(request, _server_key(request)) is not None

    def _lookup(self, key: ServerKey) -> ServerTransaction | Finished | None:
        found = self.server.get(key)
        return found if found is not None else self.lingering.get(key)

    def _matching(self, request: Request, key: ServerKey) -> ServerTransaction | Finished | None:
        """The server transaction ``request`` belongs to, at work or finished, if any."""
        existing = self._lookup(key)
        if request.method == "ACK" and key[0] == "rfc2543":
            # The INVITE of a new dialog had no To tag; the ACK carries our response's.
            if existing is None:
                existing = self._lookup(_server_key(request, to_tag=""))
            if existing is not None and not _acknowledges(request, existing):
                existing = None
        if existing is None or (isinstance(existing, _Transaction) and existing.terminated):
            return None
        if request.method == "ACK" and existing.state is ServerState.ACCEPTED:
            return None  # RFC 6026 7.1: the ACK of a 2xx goes to the TU, not absorbed
        return existing

    def _retire(self, key: ServerKey, tx: _Transaction, expires: float, reply_path: ReplyPath | None) -> None:
        """``tx`` is done with its TU: keep what absorbing its retransmissions needs until
        ``expires``, and let go of the object (its request, response, timers, callbacks)."""
        self._forget_server(key, tx)
        response = getattr(tx, "last_response", None)
        if isinstance(tx, NonInviteServerTransaction) and response is not None:
            # RFC 3261 17.2.2: a retransmitted request gets the final response again.
            sender, to = reply_path if reply_path is not None else (_SendThrough(tx.send), None)
            entry = Finished(expires, tx.state, bytes(response), sender, to)
        elif key[0] == "rfc2543" and tx.state is ServerState.CONFIRMED and response is not None:
            entry = Finished(expires, tx.state, to_tag=_to_tag(response))  # to tell its ACKs apart
        else:
            entry = Finished(expires, tx.state)  # an INVITE's retransmissions are absorbed
        self.lingering.add(key, entry)

    def _remember_accepted(self, tx: InviteServerTransaction) -> None:
        self._accepted[(tx.request.call_id, tx.request.cseq.seq)] = tx

    def _forget_server(self, key: ServerKey, tx: _Transaction) -> None:
        if self.server.get(key) is tx:
            del self.server[key]
        if isinstance(tx, InviteServerTransaction):
            ident = (tx.request.call_id, tx.request.cseq.seq)
            if self._accepted.get(ident) is tx:
                del self._accepted[ident]

    def send_request(
        self,
        request: Request,
        send: Send,
        reliable: bool,
        on_response: OnResponse,
        on_timeout: Callable[[], None] | None = None,
    ) -> ClientTransaction:
        """Start a client transaction for ``request`` (its top Via must carry a branch)."""
        if not (request.top_via.branch or "").startswith(MAGIC_COOKIE):
            raise ValueError("request's top Via has no RFC 3261 branch")
        if not self._make_room(self.client, self.max_client, end_live=False):
            raise ValueError(f"{len(self.client)} client transactions in progress: no room for another")
        cls = InviteClientTransaction if request.method == "INVITE" else NonInviteClientTransaction
        tx = cls(request, send, reliable, self.clock, on_response, on_timeout)
        key = (tx.branch, request.method)
        self.client[key] = tx
        tx.on_terminated = lambda t, k=key: self.client.pop(k, None) if self.client.get(k) is t else None
        tx.start()
        return tx

    def _make_room(self, table: dict, limit: int, end_live: bool) -> bool:
        """Below ``limit`` entries, by ending lingering transactions (oldest first), then,
        with ``end_live``, the oldest of the others.  False when there is still no room."""
        skipped = 0
        while len(table) >= limit:
            key, tx = next(iter(table.items()))
            if not tx.lingering and not tx.terminated and skipped < len(table):
                # Still at work for its TU: move it to the end, so the next look starts
                # with the lingering ones behind it (each entry is passed over at most once).
                del table[key]
                table[key] = tx
                skipped += 1
                continue
            if not tx.lingering and not tx.terminated and not end_live:
                return False
            self.evicted += 1
            log.debug("%s %s: ended early, %d transactions in the table", tx.kind, tx.branch, len(table))
            if table.get(key) is tx:
                del table[key]
            tx.abandon()
        return True

    def receive_response(self, response: Response) -> bool:
        """RFC 3261 17.1.3: match by top-Via branch and CSeq method.  False = no match
        (the core handles it, e.g. a retransmitted 2xx after the transaction ended)."""
        try:
            key = (response.top_via.branch or "", response.cseq.method)
        except ValueError:
            return False
        tx = self.client.get(key)
        if tx is None or tx.terminated:
            return False
        tx.receive(response)
        return True
