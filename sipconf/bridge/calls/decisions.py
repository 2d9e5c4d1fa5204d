"""The decision layer the SIP service asks for each inbound call (docs/livekit.md#auth-step and
#dispatch-outcomes).

LiveKit's SIP service calls `GetSIPTrunkAuthentication` and `EvaluateSIPDispatchRules` on
the server; the answers are `AuthResult` / `DispatchResult` values. `StoreDecisions` reads
trunks and rules from the control plane's store per call (as LiveKit SIP asks the server)
and decides with `sipconf.routing.route`; `FixedDecisions` returns configured answers
(the `inbound_sip_flow` vectors fix the decision layer this way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from livekit.protocol import sip

from sipconf.routing import route as R
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import LiveKitError

# AuthResult values (docs/livekit.md#auth-step).
AUTH_ACCEPT, AUTH_PASSWORD, AUTH_DROP = "accept", "password", "drop"
AUTH_NOT_FOUND, AUTH_QUOTA, AUTH_NO_TRUNK = "not_found", "quota_exceeded", "no_trunk_found"
# DispatchResult values (docs/livekit.md#dispatch-outcomes).
DISPATCH_ACCEPT, DISPATCH_PIN, DISPATCH_REJECT = "accept", "request_pin", "reject"
DISPATCH_DROP, DISPATCH_UNAVAILABLE = "drop", "unavailable"


@dataclass(frozen=True)
class AuthAnswer:
    result: str
    trunk: sip.SIPInboundTrunkInfo | None = None
    username: str = ""
    password: str = ""
    realm: str = ""  # "" = LiveKit's default realm

    @property
    def trunk_id(self) -> str:
        return self.trunk.sip_trunk_id if self.trunk is not None else ""


@dataclass(frozen=True)
class RoomJoin:
    """Where an accepted call goes and who it is there (the evaluation's ACCEPT fields)."""

    room_name: str
    identity: str
    name: str = ""
    metadata: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    rule_id: str = ""
    media_timeout: float | None = None  # merged media.media_timeout in s, if set (docs/livekit.md#media-merge)


@dataclass(frozen=True)
class DispatchAnswer:
    result: str
    status: int | None = None  # for `reject`: LiveKit's status and reason
    reason: str = ""
    join: RoomJoin | None = None
    trunk: sip.SIPInboundTrunkInfo | None = None


class DecisionLayer(Protocol):
    def authenticate(self, call: CallFacts) -> AuthAnswer:
        """Raises on an RPC failure (the SIP service answers 503)."""

    def dispatch(self, call: CallFacts, trunk_id: str) -> DispatchAnswer:
        """Raises on an RPC failure (503 before the answer; BYE in the PIN flow)."""


class RpcError(Exception):
    """The decision layer's call itself failed."""


_AUTH = {"accept": AUTH_ACCEPT, "password": AUTH_PASSWORD, "not_found": AUTH_NOT_FOUND,
         "no_trunk_found": AUTH_NO_TRUNK}


class StoreDecisions:
    """Decisions from the trunks and rules in the control plane's store, read per call."""

    def __init__(self, trunks: Callable[[], list[sip.SIPInboundTrunkInfo]],
                 rules: Callable[[], list[sip.SIPDispatchRuleInfo]], mode: R.Mode) -> None:
        self._trunks = trunks
        self._rules = rules
        self.mode = mode
        self.last_trace: tuple[str, ...] = ()

    def authenticate(self, call: CallFacts) -> AuthAnswer:
        decided = R.authenticate(self._trunks(), call, self.mode)
        self.last_trace = decided.trace
        step = decided.value
        if step.result == "error":
            raise RpcError(decided.error.message if decided.error else "trunk matching failed")
        return AuthAnswer(_AUTH[step.result], step.trunk, step.username, step.password, step.realm)

    def dispatch(self, call: CallFacts, trunk_id: str) -> DispatchAnswer:
        decided = R.dispatch(self._trunks(), self._rules(), call, self.mode, trunk_id_hint=trunk_id)
        self.last_trace = decided.trace
        out = decided.value
        if out.action == "error":
            raise RpcError(decided.error.message if decided.error else "dispatch failed")
        if out.action == "drop":
            return DispatchAnswer(DISPATCH_DROP, trunk=out.trunk)
        if out.action == "request_pin":
            return DispatchAnswer(DISPATCH_PIN, trunk=out.trunk)
        if out.action != "accept":
            return DispatchAnswer(DISPATCH_REJECT, out.status, out.reason, trunk=out.trunk)
        ev = out.evaluation
        join = RoomJoin(
            room_name=ev.room_name,
            identity=ev.participant_identity,
            name=ev.participant_name,
            metadata=ev.participant_metadata,
            attributes=dict(out.attributes),
            rule_id=out.rule.sip_dispatch_rule_id if out.rule is not None else "",
            media_timeout=media_timeout_of(ev.media),
        )
        return DispatchAnswer(DISPATCH_ACCEPT, join=join, trunk=out.trunk)


@dataclass
class FixedDecisions:
    """Fixed answers (conformance): counts the calls like the Go test handler does."""

    auth: AuthAnswer | None = None
    auth_error: str | None = None
    dispatch_answer: DispatchAnswer | None = None
    auth_calls: int = 0
    dispatch_calls: int = 0

    def authenticate(self, call: CallFacts) -> AuthAnswer:
        self.auth_calls += 1
        if self.auth_error is not None:
            raise RpcError(self.auth_error)
        return self.auth or AuthAnswer(AUTH_ACCEPT)

    def dispatch(self, call: CallFacts, trunk_id: str) -> DispatchAnswer:
        self.dispatch_calls += 1
        if self.dispatch_answer is None:
            raise RpcError("no dispatch answer configured")
        return self.dispatch_answer


def media_timeout_of(media) -> float | None:
    """`media.media_timeout` in seconds when set and positive (docs/livekit.md#media-merge), else
    None."""
    if media is None or not media.HasField("media_timeout"):
        return None
    seconds = media.media_timeout.seconds + media.media_timeout.nanos / 1e9
    return seconds if seconds > 0 else None


def is_rpc_error(err: BaseException) -> bool:
    return isinstance(err, (RpcError, LiveKitError))
