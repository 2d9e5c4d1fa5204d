"""The decision layer the SIP service asks for each inbound call.

LiveKit's SIP service calls `GetSIPTrunkAuthentication` and `EvaluateSIPDispatchRules` on
the server. Here the answers are routing's own results, `Decision[AuthStep]` and
`Decision[Outcome]` (`sipconf.routing.route`), and a failed lookup is an `error` result
rather than an exception. `StoreDecisions` reads trunks and rules from the control plane's
store per call (as LiveKit SIP asks the server) and decides with `sipconf.routing.route`;
`FixedDecisions` returns configured answers (the `inbound_sip_flow` vectors fix the
decision layer this way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from livekit.protocol import sip

from sipconf.routing import route
from sipconf.routing.call import CallFacts
from sipconf.routing.index import RoutingIndex
from sipconf.routing.errors import UNAVAILABLE, LiveKitError
from sipconf.routing.route import AuthStep, Outcome
from sipconf.routing.trace import Decision
from sipconf.sip.status_lines import TRY_AGAIN


class DecisionLayer(Protocol):
    def authenticate(self, call: CallFacts) -> Decision[AuthStep]:
        """The auth step; a failed lookup is an `error` step (the SIP service answers 503)."""

    def dispatch(self, call: CallFacts, trunk_id: str) -> Decision[Outcome]:
        """The dispatch outcome; a failed lookup is an `error` outcome (503 before the
        answer, BYE in the PIN flow)."""


class StoreDecisions:
    """Decisions from the control plane's current trunks and rules, through the routing
    index built once per state version (`index()` returns the current one). The index answers
    exactly as the literal engine does (a differential test holds them equal) without a trace:
    a routed call pays for no text nobody reads."""

    def __init__(self, index: Callable[[], RoutingIndex], mode: route.Mode) -> None:
        self._index = index
        self.mode = mode

    def authenticate(self, call: CallFacts) -> Decision[AuthStep]:
        return self._index().authenticate(call, self.mode)

    def dispatch(self, call: CallFacts, trunk_id: str) -> Decision[Outcome]:
        return self._index().dispatch(call, self.mode, trunk_id_hint=trunk_id)


@dataclass
class FixedDecisions:
    """Fixed answers (conformance): counts the calls like the Go test handler does.

    `auth_error` makes the auth lookup fail with that text; without a `dispatch_answer`
    the dispatch lookup fails.
    """

    auth: AuthStep | None = None
    auth_error: str | None = None
    dispatch_answer: Outcome | None = None
    auth_calls: int = 0
    dispatch_calls: int = 0

    def authenticate(self, call: CallFacts) -> Decision[AuthStep]:
        self.auth_calls += 1
        if self.auth_error is not None:
            return Decision(AuthStep("error"), LiveKitError(UNAVAILABLE, self.auth_error))
        return Decision(self.auth or AuthStep("accept"))

    def dispatch(self, call: CallFacts, trunk_id: str) -> Decision[Outcome]:
        self.dispatch_calls += 1
        if self.dispatch_answer is None:
            failed = LiveKitError(UNAVAILABLE, "no dispatch answer configured")
            return Decision(Outcome("error", *TRY_AGAIN), failed)
        return Decision(self.dispatch_answer)


def media_timeout_of(media) -> float | None:
    """`media.media_timeout` in seconds when set and positive, else None."""
    if media is None or not media.HasField("media_timeout"):
        return None
    seconds = media.media_timeout.seconds + media.media_timeout.nanos / 1e9
    return seconds if seconds > 0 else None
