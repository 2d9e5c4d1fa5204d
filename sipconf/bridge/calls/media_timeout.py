"""The media timeout of an answered call (docs/livekit.md#dispatch-outcomes, #media-merge and
#dialling): hang up when no RTP arrived for `timeout` seconds, or for `initial` seconds after the
answer before the first packet. LiveKit's defaults are 15 s and 30 s; a merged `media.media_timeout`
replaces both (inbound merges (trunk, rule), outbound (trunk, request)). Runs on the injected clock.

A peer that put the call on hold so that it sends nothing (it offered `recvonly` or `inactive`,
RFC 3264 8.4) is not timed out; when it resumes it has `timeout` seconds again from then.
"""

from __future__ import annotations

import functools
from typing import Callable

from sipconf.bridge.clock import Clock, TimerHandle
from sipconf.bridge.media import RtpSession

__all__ = ["MEDIA_TIMEOUT", "MEDIA_TIMEOUT_INITIAL", "MediaWatch", "timeouts"]

MEDIA_TIMEOUT, MEDIA_TIMEOUT_INITIAL = 15.0, 30.0


def timeouts(media_timeout: float | None) -> tuple[float, float]:
    """(timeout, initial): the merged `media_timeout` for both when set, else 15 s / 30 s."""
    return (media_timeout, media_timeout) if media_timeout is not None else (MEDIA_TIMEOUT, MEDIA_TIMEOUT_INITIAL)


_STOPPED_LIMITS = functools.partial(timeouts, None)  # what a stopped watch would be asked: the defaults


def _stopped() -> None:
    """What a stopped watch calls on a timeout: nothing (its timer is cancelled)."""


class MediaWatch:
    """Started at the answer; `limits()` is asked at every check, so a later room join (the
    PIN flow) can change the timeout. `stop()` cancels it."""

    def __init__(self, clock: Clock, rtp: RtpSession, limits: Callable[[], tuple[float, float]],
                 on_timeout: Callable[[], None]) -> None:
        self.clock = clock
        self.rtp = rtp
        self.limits = limits
        self.on_timeout = on_timeout
        self.started_at = clock.now()
        self._timer: TimerHandle | None = clock.call_later(limits()[1], self._check)

    def _check(self) -> None:
        self._timer = None
        timeout, initial = self.limits()
        if not self.rtp.receiving:  # on hold: silence is what the peer said it would send
            self._timer = self.clock.call_later(timeout, self._check)
            return
        heard = [t for t in (self.rtp.last_received, self.rtp.receiving_since) if t is not None]
        now = self.clock.now()
        if not heard:
            since, limit = now - self.started_at, initial
        else:
            since, limit = now - max(heard), timeout
        if since >= limit:
            self.on_timeout()
            return
        self._timer = self.clock.call_later(limit - since, self._check)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # The call's callbacks go: nothing is checked any more, and the call (which holds this
        # watch) is no longer held by it in a cycle only the cyclic collector would break.
        self.limits, self.on_timeout = _STOPPED_LIMITS, _stopped
