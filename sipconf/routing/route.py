"""The one inbound routing entry point: authentication step, dispatch, and both together.

The bridge, `sipconf explain` and the simulator call these; nothing re-implements them.
Two modes:

- `explicit` (default): no trunk -> `404 No trunk found` and no rule is tried; a trunk but
  no rule -> `404 Does not match Trunks or Dispatch Rules`; any trunk or rule conflict (or an
  invalid rule) -> `503 Try again later`.
- `oss`: exactly the open-source LiveKit server (docs/livekit.md#auth-step and #dispatch-outcomes):
  no trunk -> accepted without auth and without trunk id, and rules without `trunk_ids` may take it;
  no rule -> DROP (100/180, then silence); RPC errors -> `503 Try again later`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal, Protocol, Sequence

from livekit.protocol import sip

from sipconf.routing.attributes import sip_attributes
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import INVALID_ARGUMENT, LiveKitError
from sipconf.routing.evaluate import Evaluation, evaluate_dispatch_rule
from sipconf.routing.masks import parse_addr
from sipconf.routing.rules import NO_RULE, pin_and_room, rule_label, select_dispatch_rule
from sipconf.routing.trace import Decision, new_trace
from sipconf.routing.trunks import TrunkMatch, match_trunk, trunk_label
from sipconf.sip.status_lines import (
    ANSWERED,
    NO_RULE_MATCHED,
    NO_TRUNK_FOUND,
    NO_TRUNK_MATCHED,
    PROXY_CHALLENGE,
    QUOTA_EXCEEDED,
    TRY_AGAIN,
)

DEFAULT_REALM = "LiveKit"  # docs/livekit.md#auth-step: "Realm = auth_realm, or LiveKit when empty"


class Mode(StrEnum):
    EXPLICIT = "explicit"
    OSS = "oss"


# LiveKit's AuthResult values, and "error" for a failed lookup (an RPC error). The open-source
# server answers only accept / password / no_trunk_found and errors; other decision layers
# (LiveKit Cloud, fixed conformance answers) may drop or refuse for quota too.
AuthResult = Literal["accept", "password", "drop", "not_found", "quota_exceeded", "no_trunk_found", "error"]


@dataclass(frozen=True)
class AuthStep:
    """The decision layer's answer to `GetSIPTrunkAuthentication` (docs/livekit.md#auth-step)."""

    result: AuthResult
    trunk: sip.SIPInboundTrunkInfo | None = None
    username: str = ""
    password: str = ""
    realm: str = ""


Action = Literal["accept", "request_pin", "challenge", "reject", "drop", "error"]


@dataclass(frozen=True)
class Outcome:
    """What happens to the INVITE: the SIP status LiveKit answers with (None for a drop), the
    trunk and rule involved, the evaluation, and (accepted calls) the participant's final
    attributes after the SIP service's header overlay."""

    action: Action
    status: int | None
    reason: str
    trunk: sip.SIPInboundTrunkInfo | None = None
    rule: sip.SIPDispatchRuleInfo | None = None
    evaluation: Evaluation | None = None
    attributes: dict[str, str] = field(default_factory=dict)


class Lookup(Protocol):
    """Where routing finds what a call can reach: the trunk it matches, the trunk the auth
    step named, and the dispatch rules a trunk's calls are selected from.

    `Scan` reads the whole lists, as LiveKit does: the reference. The routing index
    (`index.RoutingIndex`) answers the same from its tables, so a traced decision through it
    is this module's, over exactly the trunks and rules the call can reach.
    """

    def match_trunk(self, call: CallFacts, with_trace: bool) -> Decision[TrunkMatch]:
        """`trunks.match_trunk` over every inbound trunk, sorted by id."""

    def hinted(self, trunk_id: str) -> sip.SIPInboundTrunkInfo | None:
        """The first trunk with this id (an empty id names none)."""

    def rule_candidates(self, trunk: sip.SIPInboundTrunkInfo | None) -> list[sip.SIPDispatchRuleInfo]:
        """The rules selection sees for a call on `trunk` (None: no trunk), sorted by id."""


@dataclass(frozen=True)
class Scan:
    """The literal lookup: every trunk and rule is read for each call."""

    trunks: Sequence[sip.SIPInboundTrunkInfo]
    rules: Sequence[sip.SIPDispatchRuleInfo] = ()

    def match_trunk(self, call: CallFacts, with_trace: bool) -> Decision[TrunkMatch]:
        return match_trunk(_by_id(self.trunks), call, with_trace)

    def hinted(self, trunk_id: str) -> sip.SIPInboundTrunkInfo | None:
        return _hinted(self.trunks, trunk_id)

    def rule_candidates(self, trunk: sip.SIPInboundTrunkInfo | None) -> list[sip.SIPDispatchRuleInfo]:
        return _rule_candidates(self.rules, trunk)


def authenticate(
    trunks: Sequence[sip.SIPInboundTrunkInfo], call: CallFacts, mode: Mode, with_trace: bool = True
) -> Decision[AuthStep]:
    """Match the trunk, then accept, ask for a password, or refuse (docs/livekit.md#auth-step).

    The decision is the value; an RPC error is also returned as `error`. Without
    `with_trace` no reason is formatted and the trace is empty.
    """
    return authenticate_via(Scan(trunks), call, mode, with_trace)


def authenticate_via(lookup: Lookup, call: CallFacts, mode: Mode, with_trace: bool = True) -> Decision[AuthStep]:
    """`authenticate` with the trunks found through `lookup`."""
    trace = new_trace(with_trace)
    if with_trace:
        source = f" (source {call.src_ip}" + (f", host {call.from_host})" if call.from_host else ")")
        trace.append(f"call from {call.from_user or '<empty>'} to {call.to_user or '<empty>'}"
                     + (source if call.src_ip else ""))
    matched = lookup.match_trunk(call, with_trace)
    trace.extend(matched.trace)
    if matched.error is not None:
        if with_trace:
            trace.append(f"trunk matching failed: {matched.error.message}")
        return Decision(AuthStep("error"), matched.error, tuple(trace))
    trunk = matched.value.trunk
    if trunk is None:
        if mode == Mode.OSS:
            trace.append("no trunk: the open-source server accepts without auth and without a trunk id")
            return Decision(AuthStep("accept"), None, tuple(trace))
        trace.append("no trunk: explicit mode refuses the call")
        return Decision(AuthStep("no_trunk_found"), None, tuple(trace))
    # docs/livekit.md#auth-step: "both auth_username and auth_password set requires digest auth".
    if trunk.auth_username and trunk.auth_password:
        realm = trunk.auth_realm or DEFAULT_REALM
        if with_trace:
            trace.append(f"trunk {trunk_label(trunk)} requires digest auth as {trunk.auth_username} (realm {realm})")
        return Decision(
            AuthStep("password", trunk, trunk.auth_username, trunk.auth_password, realm), None, tuple(trace)
        )
    if with_trace:
        trace.append(f"trunk {trunk_label(trunk)} needs no auth")
    return Decision(AuthStep("accept", trunk), None, tuple(trace))


def dispatch(
    trunks: Sequence[sip.SIPInboundTrunkInfo],
    rules: Sequence[sip.SIPDispatchRuleInfo],
    call: CallFacts,
    mode: Mode,
    project_id: str = "",
    trunk_id_hint: str = "",
    rng: random.Random | None = None,
    with_trace: bool = True,
) -> Decision[Outcome]:
    """`EvaluateSIPDispatchRules` and the SIP service's reaction to its answer
    (docs/livekit.md#dispatch-outcomes).

    With `call.pin` / `call.no_pin` set this is the PIN flow's second request: the call is
    already answered, so anything but `accept` has no status and ends in a BYE (docs/livekit.md#pin-flow: "anything
    but ACCEPT with a non-empty room -> wrong PIN prompt and BYE; an RPC error -> BYE without
    prompt"). Errors are returned both as an `error` outcome and as the Decision's `error`.
    Without `with_trace` no reason is formatted and the trace is empty.
    """
    return dispatch_via(Scan(trunks, rules), call, mode, project_id, trunk_id_hint, rng, with_trace)


def dispatch_via(
    lookup: Lookup,
    call: CallFacts,
    mode: Mode,
    project_id: str = "",
    trunk_id_hint: str = "",
    rng: random.Random | None = None,
    with_trace: bool = True,
) -> Decision[Outcome]:
    """`dispatch` with the trunks and rules found through `lookup`."""
    decided = _dispatch(lookup, call, mode, project_id, trunk_id_hint, rng, with_trace)
    outcome = decided.value
    if not (call.pin or call.no_pin) or outcome.action == "accept":
        return decided
    if outcome.action == "error":
        last = "LiveKit hangs up (BYE) without a prompt"
    else:
        last = "the wrong-PIN prompt plays and LiveKit hangs up (BYE)"
    return Decision(replace(outcome, status=None), decided.error, decided.trace + ((last,) if with_trace else ()))


def _dispatch(
    lookup: Lookup,
    call: CallFacts,
    mode: Mode,
    project_id: str,
    trunk_id_hint: str,
    rng: random.Random | None,
    with_trace: bool,
) -> Decision[Outcome]:
    trace = new_trace(with_trace)
    if call.src_ip and parse_addr(call.src_ip) is None:
        err = LiveKitError(INVALID_ARGUMENT, f"invalid source IP {call.src_ip!r}")
        if with_trace:
            trace.append(f"the source address {call.src_ip} does not parse")
        return _error(err, trace)
    trunk = lookup.hinted(trunk_id_hint)
    if trunk is not None:
        if with_trace:
            trace.append(f"trunk {trunk_label(trunk)} from the auth step")
    else:
        trace.append("dispatch matches the trunk again")
        matched = lookup.match_trunk(call, with_trace)
        trace.extend(matched.trace)
        if matched.error is not None:
            if with_trace:
                trace.append(f"trunk matching failed: {matched.error.message}")
            return _error(matched.error, trace)
        trunk = matched.value.trunk
        if trunk is None and mode == Mode.EXPLICIT:
            trace.append("no trunk: explicit mode tries no rule")
            return Decision(Outcome("reject", *NO_TRUNK_FOUND), None, tuple(trace))
    candidates = lookup.rule_candidates(trunk)
    request = replace(call, sip_trunk_id=call.sip_trunk_id or trunk_id_hint)
    selected = select_dispatch_rule(candidates, trunk, request, with_trace)
    trace.extend(selected.trace)
    rule = selected.value
    if selected.error is not None and selected.error.message == NO_RULE:
        if mode == Mode.EXPLICIT and call.pin:
            rule = _rule_for_wrong_pin(candidates, trunk, request)
        if rule is None:
            return _no_rule(mode, trunk, trace)
        if with_trace:
            trace.append(f"the PIN is checked against rule {rule_label(rule)}")
    elif selected.error is not None:
        return _error(selected.error, trace, trunk)
    evaluated = evaluate_dispatch_rule(project_id, trunk, rule, request, rng, with_trace)
    trace.extend(evaluated.trace)
    if evaluated.error is not None:
        return _error(evaluated.error, trace, trunk, rule)
    ev = evaluated.value
    if ev.result == "REQUEST_PIN":
        trace.append("LiveKit answers at once, plays the PIN prompt and collects digits until #")
        return Decision(Outcome("request_pin", *ANSWERED, trunk, rule, ev), None, tuple(trace))
    status = "active" if call.pin else "ringing"
    attrs = sip_attributes(
        ev.participant_attributes, trunk, call.headers,
        from_tag=call.from_tag, call_id_full=call.call_id_full, call_status=status,
    )
    if with_trace:
        trace.append(f"accepted: answered 200 OK once the participant joins room {ev.room_name}")
    return Decision(Outcome("accept", *ANSWERED, trunk, rule, ev, attrs), None, tuple(trace))


def route(
    trunks: Sequence[sip.SIPInboundTrunkInfo],
    rules: Sequence[sip.SIPDispatchRuleInfo],
    call: CallFacts,
    mode: Mode,
    project_id: str = "",
    authenticated: bool = False,
    rng: random.Random | None = None,
    with_trace: bool = True,
) -> Decision[Outcome]:
    """Authentication then dispatch, for callers without a SIP dialog (explain, simulator).

    A trunk that needs digest auth yields `challenge` (407) unless `authenticated`. Without
    `with_trace` no reason is formatted and the trace is empty.
    """
    return route_via(Scan(trunks, rules), call, mode, project_id, authenticated, rng, with_trace)


def route_via(
    lookup: Lookup,
    call: CallFacts,
    mode: Mode,
    project_id: str = "",
    authenticated: bool = False,
    rng: random.Random | None = None,
    with_trace: bool = True,
) -> Decision[Outcome]:
    """`route` with the trunks and rules found through `lookup`."""
    auth = authenticate_via(lookup, call, mode, with_trace)
    trace = new_trace(with_trace)
    trace.extend(auth.trace)
    step = auth.value
    if step.result == "error":
        return _error(auth.error, trace)
    refused = auth_refusal(step)
    if refused is not None:
        trace.append(f"rejected: {refused.status} {refused.reason}" if refused.status else "dropped: no response")
        return Decision(refused, None, tuple(trace))
    if step.result == "password":
        if not authenticated:
            trace.append(f"challenged: {PROXY_CHALLENGE} (Proxy-Authenticate, realm {step.realm})")
            return Decision(Outcome("challenge", *PROXY_CHALLENGE, step.trunk), None, tuple(trace))
        trace.append("the caller answered the digest challenge")
    hint = step.trunk.sip_trunk_id if step.trunk is not None else ""
    dispatched = dispatch_via(lookup, call, mode, project_id, hint, rng, with_trace)
    return Decision(dispatched.value, dispatched.error, tuple(trace) + dispatched.trace)


def auth_refusal(step: AuthStep) -> Outcome | None:
    """How the SIP service ends the call on the auth step's answer, or None when the call
    goes on: to dispatch, after the digest handshake for `password`. A result it does
    not know goes on as well (LiveKit's switch over AuthResult has no default)."""
    if step.result == "error":
        return Outcome("error", *TRY_AGAIN, step.trunk)
    if step.result == "drop":
        return Outcome("drop", None, "", step.trunk)
    if step.result == "not_found":
        return Outcome("reject", *NO_TRUNK_MATCHED, step.trunk)
    if step.result == "quota_exceeded":
        return Outcome("reject", *QUOTA_EXCEEDED, step.trunk)
    if step.result == "no_trunk_found":
        return Outcome("reject", *NO_TRUNK_FOUND, step.trunk)
    return None


def _by_id(trunks: Sequence[sip.SIPInboundTrunkInfo]) -> list[sip.SIPInboundTrunkInfo]:
    # The server lists candidates sorted by id (docs/livekit.md#trunk-matching); matching itself
    # does not depend on order.
    return sorted(trunks, key=lambda t: t.sip_trunk_id)


def _hinted(trunks: Sequence[sip.SIPInboundTrunkInfo], trunk_id: str) -> sip.SIPInboundTrunkInfo | None:
    """Trunk matching tries the trunk id from the auth step first
    (docs/livekit.md#dispatch-outcomes)."""
    if not trunk_id:
        return None
    return next((t for t in trunks if t.sip_trunk_id == trunk_id), None)


def _rule_candidates(
    rules: Sequence[sip.SIPDispatchRuleInfo], trunk: sip.SIPInboundTrunkInfo | None
) -> list[sip.SIPDispatchRuleInfo]:
    """docs/livekit.md#rule-selection: "rules with no trunk_ids plus rules naming the matched trunk
    (all rules when no trunk), sorted by id" -- so conflicts between rules of other trunks are not
    seen."""
    if trunk is None:
        listed = list(rules)
    else:
        listed = [r for r in rules if not r.trunk_ids or trunk.sip_trunk_id in r.trunk_ids]
    return sorted(listed, key=lambda r: r.sip_dispatch_rule_id)


def _rule_for_wrong_pin(
    rules: list[sip.SIPDispatchRuleInfo], trunk: sip.SIPInboundTrunkInfo | None, call: CallFacts
) -> sip.SIPDispatchRuleInfo | None:
    """Explicit mode: the PIN rule the caller was prompted for, so evaluation reports the
    wrong PIN as `permission_denied` (3.5 step 5) instead of "no rule"."""
    again = select_dispatch_rule(rules, trunk, call.with_pin(), with_trace=False).value
    # An open rule never prompted for a PIN, so a PIN cannot be "wrong" for it.
    return again if again is not None and pin_and_room(again)[0] else None


def _no_rule(mode: Mode, trunk: sip.SIPInboundTrunkInfo | None, trace: list[str]) -> Decision[Outcome]:
    if mode == Mode.OSS:
        trace.append("no rule: the open-source server answers DROP (100/180, then no final response)")
        return Decision(Outcome("drop", None, "", trunk), None, tuple(trace))
    trace.append(f"rejected: {NO_RULE_MATCHED}")
    return Decision(Outcome("reject", *NO_RULE_MATCHED, trunk), None, tuple(trace))


def _error(
    err: LiveKitError,
    trace: list[str],
    trunk: sip.SIPInboundTrunkInfo | None = None,
    rule: sip.SIPDispatchRuleInfo | None = None,
) -> Decision[Outcome]:
    trace.append(f"the decision layer fails ({err.code or 'error'}: {err.message}): {TRY_AGAIN}")
    return Decision(Outcome("error", *TRY_AGAIN, trunk, rule), err, tuple(trace))
