"""The injected clock: SIP timers and RTP pacing ask it, never ``time`` or ``asyncio`` directly.

``LoopClock`` runs on the asyncio loop; ``ManualClock`` is advanced by tests so that no test
sleeps for real to wait for Timer B or a 20 ms RTP tick.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Callable, Protocol

__all__ = ["Clock", "LoopClock", "ManualClock", "SweepTimer", "TimerHandle"]


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...


class LoopClock:
    """The real clock: the running asyncio loop's monotonic time and timers."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._running: asyncio.AbstractEventLoop | None = None  # the loop found running, kept

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        # `asyncio.get_running_loop()` makes a getpid() system call each time (CPython checks
        # for a fork); the clock is asked dozens of times a call, so the loop found is kept
        # while it runs.
        if self._loop is not None:
            return self._loop
        running = self._running
        if running is None or not running.is_running():
            running = self._running = asyncio.get_running_loop()
        return running

    def now(self) -> float:
        return self.loop.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self.loop.call_later(max(0.0, delay), callback)


class SweepTimer:
    """One timer for many expiries kept in a heap: `want(due)` arms it for the earliest time
    asked, but never sooner than `interval` after the last sweep; when it fires, `sweep(until)`
    runs with the time swept up to, and asks again for what is left. At a thousand entries a
    second a timer each costs more than the entries; an entry may so go up to `interval` late."""

    def __init__(self, clock: Clock, interval: float, sweep: Callable[[float], None]) -> None:
        self.clock = clock
        self.interval = interval
        self._sweep = sweep
        self._timer: TimerHandle | None = None
        self._armed_for: float | None = None
        self._swept_at = float("-inf")  # when the last sweep ran

    def want(self, due: float) -> None:
        due = max(due, self._swept_at + self.interval)
        if self._armed_for is not None and self._armed_for <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = due
        self._timer = self.clock.call_later(due - self.clock.now(), self._fire)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._armed_for = None

    def _fire(self) -> None:
        # Everything due by the time it was armed for goes (the clock may read a hair earlier
        # than the sum it was armed with).
        until = max(self.clock.now(), self._armed_for or 0.0)
        self._timer = self._armed_for = None
        self._swept_at = until
        self._sweep(until)


class _ManualHandle:
    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        self.callback = None  # as asyncio does: a cancelled timer keeps nothing alive

    @property
    def cancelled(self) -> bool:
        return self.callback is None


class ManualClock:
    """A test clock: time moves only in ``advance()``, which fires due timers in order."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._queue: list[tuple[float, int, _ManualHandle]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        handle = _ManualHandle(callback)
        heapq.heappush(self._queue, (self._now + max(0.0, delay), next(self._seq), handle))
        return handle

    def advance(self, seconds: float) -> None:
        """Move time forward, running every timer due by then (including ones they schedule)."""
        target = self._now + seconds
        while self._queue and self._queue[0][0] <= target + 1e-9:
            when, _, handle = heapq.heappop(self._queue)
            self._now = max(self._now, when)
            callback, handle.callback = handle.callback, None
            if callback is not None:
                callback()
        self._now = target

    def busy(self, seconds: float) -> None:
        """Time passes and no timer fires, as if a callback kept the loop busy that long."""
        self._now += seconds

    @property
    def pending(self) -> int:
        return sum(1 for *_, handle in self._queue if not handle.cancelled)
