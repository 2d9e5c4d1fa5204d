"""Admission control: shed new calls with `503 Service Unavailable` + `Retry-After` when overloaded.

RFC 3261 21.5.4 / 20.33. The decision is taken for a new INVITE (no To tag) before any routing
or media work, from three signals:

- `max_calls`: calls in progress (INVITEs not yet finalised + established dialogs);
- `max_pending`: INVITE server transactions not yet answered with a final response;
- `max_lag`: event-loop lag, measured with the injected clock: a probe asks to be called back
  every `PROBE_INTERVAL` seconds; how late it runs (or how late it is already, while the loop is
  busy) is the lag. It adapts to the machine: a slow machine saturates, and sheds, earlier.

Below saturation the loop lag stays at a few milliseconds and nothing is refused, so the answers
LiveKit gives are unchanged. `max_lag <= 0` (and `max_pending <= 0`) turns that signal off.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipconf.bridge.clock import Clock, TimerHandle

__all__ = ["Admission", "AdmissionLimits", "Refusal", "PROBE_INTERVAL", "SERVICE_UNAVAILABLE"]

PROBE_INTERVAL = 0.05  # seconds between two lag probes
SMOOTHING = 0.25  # weight of the newest probe in the lag average: one stall alone does not shed
SERVICE_UNAVAILABLE = (503, "Service Unavailable")


@dataclass(frozen=True)
class AdmissionLimits:
    max_calls: int = 1000
    max_pending: int = 0  # 0 = no limit of its own (max_calls still counts pending INVITEs)
    max_lag: float = 0.1  # seconds of event-loop lag before new calls are refused; 0 = off
    retry_after: int = 1  # seconds, the Retry-After of every 503

    def __post_init__(self) -> None:
        if self.max_calls < 1:
            raise ValueError(f"max_calls {self.max_calls}: expected at least 1")
        if self.max_pending < 0 or self.max_lag < 0 or self.retry_after < 0:
            raise ValueError("max_pending, max_lag and retry_after must be >= 0")


@dataclass(frozen=True)
class Refusal:
    """Why a new call was refused, and the response to send."""

    why: str  # "max_calls", "max_pending" or "overload"
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

    # -- the decision ----------------------------------------------------------------------

    def admit(self, calls: int, pending: int) -> Refusal | None:
        lim = self.limits
        why = None
        if calls >= lim.max_calls:
            why = "max_calls"
        elif lim.max_pending and pending >= lim.max_pending:
            why = "max_pending"
        elif lim.max_lag and self.current_lag() > lim.max_lag:
            why = "overload"
        if why is None:
            return None
        self.refused[why] = self.refused.get(why, 0) + 1
        return Refusal(why, retry_after=lim.retry_after)


def _average(average: float, sample: float) -> float:
    return (1 - SMOOTHING) * average + SMOOTHING * max(0.0, sample)
