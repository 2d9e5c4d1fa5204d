"""Admission control: shed new calls with `503 Service Unavailable` + `Retry-After` when overloaded.

RFC 3261 21.5.4 / 20.33. The decision is taken for a new INVITE (no To tag) before any routing
or media work, from four signals:

- `max_queue_age`: how long the INVITE waited before its turn, from the kernel's receive
  timestamp (`sipconf.bridge.udp`). Past saturation that age is what grows first: datagrams
  wait in the socket's queue while the loop itself still runs on time. An INVITE is stale when
  it waited longer than that and the datagrams' ages, averaged (`observe` is told of each),
  have stayed above it for `QUEUE_HOLD` without the queue getting younger (`TREND_WINDOW`):
  the backlog a pause leaves is not overload, since it drains however slowly near saturation;
  a queue that stays old or ages further is. A stale INVITE is refused at once and
  statelessly (RFC 3261 8.2.7: no transaction, so a flood of them costs a parse and a send
  each), which leaves the bridge's time to the calls it admitted, whose ACKs and BYEs wait in
  the same queue: goodput levels off instead of collapsing. The UDP front refuses earlier
  (`front_sheds`);

- `max_calls`: calls in progress (INVITEs not yet finalised + established dialogs);
- `max_pending`: INVITE server transactions not yet answered with a final response;
- `max_lag`: event-loop lag, measured with the injected clock: a probe asks to be called back
  every `PROBE_INTERVAL` seconds; how late it runs (or how late it is already, while the loop is
  busy) is the lag. It adapts to the machine: a slow machine saturates, and sheds, earlier.

Below saturation the queue age and the loop lag stay at a few milliseconds and nothing is refused,
so the answers LiveKit gives are unchanged. `max_queue_age`, `max_lag` or `max_pending` at 0 turns
that signal off.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipconf.bridge.clock import Clock, TimerHandle

__all__ = ["Admission", "AdmissionLimits", "Refusal", "PROBE_INTERVAL", "SERVICE_UNAVAILABLE"]

PROBE_INTERVAL = 0.05  # seconds between two lag probes
SMOOTHING = 0.25  # weight of the newest probe in the lag average: one stall alone does not shed
# Weight of each datagram in the queue-age average: a burst left by a short stall (a GC pause,
# the process off the CPU) does not shed; a queue that stays old does within a few dozen reads.
QUEUE_SMOOTHING = 0.05
# Seconds the averaged queue age must have stayed above the limit before INVITEs are refused:
# the backlog a pause leaves (a full garbage collection can stop the loop for hundreds of ms)
# drains within that; overload does not.
QUEUE_HOLD = 0.5
# Seconds of reads compared with the ones before: when the youngest datagram read in a window
# waited less than the youngest of the window before, the queue is getting younger (a backlog
# draining), and the hold starts again. The youngest, not one datagram: the front hands
# datagrams over in batches, whose ages spread by tens of milliseconds.
TREND_WINDOW = 0.05
# A pause: no datagram read for half the queue-age limit or more (a collection, the process
# off the CPU, the front or the caller held up). The old queue that follows is a backlog until
# it is seen not to drain; a shorter gap cannot make a queue that old by itself.
READ_GAP_SHARE = 0.5
# After a pause, seconds the averaged queue age must have stayed above the limit, without
# draining, before the UDP front refuses new INVITEs: three windows, so that the backlog, whose
# first window has nothing to compare with, has been seen draining. Without a pause (the
# bridge has been reading all along) an old queue is overload at once.
FRONT_HOLD = 3 * TREND_WINDOW
# Seconds the queue must stay young before the UDP front stops refusing new INVITEs once the
# bridge was overloaded: overload comes back in waves as the front lets calls through.
FRONT_CALM = 2.0
SERVICE_UNAVAILABLE = (503, "Service Unavailable")


@dataclass(frozen=True)
class AdmissionLimits:
    max_calls: int = 1000
    max_pending: int = 0  # 0 = no limit of its own (max_calls still counts pending INVITEs)
    max_lag: float = 0.1  # seconds of event-loop lag before new calls are refused; 0 = off
    retry_after: int = 1  # seconds, the Retry-After of every 503
    # Seconds an INVITE may have waited to be read (0 = off): above a GC pause's worth, below
    # RFC 3261's T1 (500 ms), so a refused caller hears 503 before it would retransmit.
    max_queue_age: float = 0.2

    def __post_init__(self) -> None:
        if self.max_calls < 1:
            raise ValueError(f"max_calls {self.max_calls}: expected at least 1")
        if self.max_pending < 0 or self.max_lag < 0 or self.retry_after < 0 or self.max_queue_age < 0:
            raise ValueError("max_pending, max_lag, retry_after and max_queue_age must be >= 0")


@dataclass(frozen=True)
class Refusal:
    """Why a new call was refused, and the response to send."""

    why: str  # "max_calls", "max_pending", "overload" or "queue_age"
    status: int = SERVICE_UNAVAILABLE[0]
    reason: str = SERVICE_UNAVAILABLE[1]
    retry_after: int = 1

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [("Retry-After", str(self.retry_after))]


class Admission:
    """`admit(calls, pending)` -> None (accept) or a `Refusal`. `start()` runs the lag probe."""

    def __init__(self, clock: Clock, limits: AdmissionLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits or AdmissionLimits()
        self.lag = 0.0  # the probes' lateness, seconds, averaged (exponentially)
        self.queue_age = 0.0  # how long datagrams waited to be read, seconds, averaged likewise
        self.old_since: float | None = None  # since when (clock time) that average is above the limit, not draining
        self._window_start = float("-inf")  # clock time the current trend window began
        self._window_youngest = float("inf")  # the least age read in it
        self._youngest_before = 0.0  # the least age read in the window before (none yet: 0)
        self._last_read: float | None = None  # clock time of the last datagram read
        self.after_pause = False  # the queue has not been young since a pause in the reads
        self.armed_until = float("-inf")  # clock time the front's shedding ends unless renewed
        self.last_age = 0.0  # how long the datagram read last waited
        self.refused: dict[str, int] = {}
        self._due: float | None = None
        self._timer: TimerHandle | None = None

    # -- the lag probe ---------------------------------------------------------------------

    def start(self) -> None:
        if self._timer is None and self.limits.max_lag > 0:
            self._schedule()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._due = None

    def _schedule(self) -> None:
        self._due = self.clock.now() + PROBE_INTERVAL
        self._timer = self.clock.call_later(PROBE_INTERVAL, self._probe)

    def _probe(self) -> None:
        if self._due is None:
            return
        self.lag = _average(self.lag, self.clock.now() - self._due)
        self._schedule()

    def current_lag(self) -> float:
        """The averaged lag, counting the next probe as it stands if it is already overdue (the
        loop is busy right now)."""
        if self._due is None:
            return self.lag
        return max(self.lag, _average(self.lag, self.clock.now() - self._due))

    # -- the decisions ---------------------------------------------------------------------

    def observe(self, queued: float) -> None:
        """A datagram was read `queued` seconds after it arrived."""
        self.last_age = max(0.0, queued)
        self.queue_age += QUEUE_SMOOTHING * (self.last_age - self.queue_age)
        limit = self.limits.max_queue_age
        if not limit:
            return
        now = self.clock.now()
        if self._last_read is not None and now - self._last_read > limit * READ_GAP_SHARE:
            self.after_pause = True
        elif self.last_age < limit / 2 and self.queue_age < limit / 2:
            self.after_pause = False
        self._last_read = now
        if self.last_age < self._window_youngest:
            self._window_youngest = self.last_age
        if now - self._window_start >= TREND_WINDOW:
            if self.old_since is not None and self._window_youngest < self._youngest_before:
                self.old_since = now  # younger than a window ago: a backlog draining, not overload
            self._youngest_before, self._window_youngest, self._window_start = self._window_youngest, float("inf"), now
        if self.old_since is None:
            if self.queue_age > limit:
                self.old_since = now
        elif self.queue_age < limit / 2:  # hysteresis: shedding keeps the age near the limit
            self.old_since = None

    def stale(self, queued: float) -> bool:
        """Whether a new INVITE that waited `queued` seconds to be read waited too long, in a
        queue that has been that old, and not draining, for QUEUE_HOLD seconds."""
        limit = self.limits.max_queue_age
        return bool(limit) and queued > limit and self._old_for(QUEUE_HOLD)

    def _old_for(self, hold: float) -> bool:
        return self.old_since is not None and self.clock.now() - self.old_since >= hold

    def front_sheds(self) -> bool:
        """Whether the UDP front (`sipconf.bridge.front`) should answer new INVITEs 503 before
        they reach the bridge: while the averaged queue age is past the limit (after a pause
        in the reads: once it has been for FRONT_HOLD without draining; no QUEUE_HOLD, since
        the front refuses only while the bridge has not read all it was handed), then for as
        long as the datagram read last waited more than a quarter of the limit, until none
        has for FRONT_CALM seconds. The last age, not the average: while the front refuses,
        the bridge reads few datagrams, and an average of them would lag by seconds. The queue of admitted calls then stays
        near a quarter of the limit, and a refused caller hears 503 within milliseconds."""
        now = self.clock.now()
        limit = self.limits.max_queue_age
        overloaded = self.queue_age > limit and (not self.after_pause or self._old_for(FRONT_HOLD))
        if (limit and overloaded) or (now < self.armed_until and self.last_age > limit / 4):
            self.armed_until = now + FRONT_CALM
            return True
        return False

    def refuse(self, why: str) -> Refusal:
        """The 503 for a new call refused because of `why`, counted in `refused`."""
        self.refused[why] = self.refused.get(why, 0) + 1
        return Refusal(why, retry_after=self.limits.retry_after)

    def admit(self, calls: int, pending: int) -> Refusal | None:
        lim = self.limits
        why = None
        if calls >= lim.max_calls:
            why = "max_calls"
        elif lim.max_pending and pending >= lim.max_pending:
            why = "max_pending"
        elif lim.max_lag and self.current_lag() > lim.max_lag:
            why = "overload"
        return None if why is None else self.refuse(why)


def _average(average: float, sample: float) -> float:
    return (1 - SMOOTHING) * average + SMOOTHING * max(0.0, sample)
