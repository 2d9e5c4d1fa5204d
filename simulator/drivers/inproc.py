"""The in-process driver: the routing engine itself, no sockets (routing-only scenarios).

It calls `sipconf.routing.route` on the spec's desired state exactly as the bridge's
decision layer does (docs/livekit.md#auth-step, #rule-selection, #rule-evaluation and
#dispatch-outcomes), including the digest step and the PIN flow, and reports what the caller would
have seen. Trunk and rule ids are spec names here.
"""

from __future__ import annotations

import random

from sipconf.routing.call import CallFacts
from sipconf.routing.route import Mode, dispatch, route
from sipconf.sip.status_lines import WRONG_CREDENTIALS
from simulator.drivers.base import RunContext, resolve_secret
from simulator.result import CallResult
from simulator.scenario.reader import LoadedScenario
from simulator.scenario.models import Dtmf, Hangup, RemoveParticipant, Transfer, Wait


class InprocDriver:
    name = "inproc"

    def cannot_run(self, loaded: LoadedScenario) -> str | None:
        if loaded.scenario.call.malformed:
            return "malformed messages are built by the scapy driver only"
        sc = loaded.scenario
        if sc.call.direction != "inbound":
            return "the inproc driver routes inbound calls only; an outbound call needs a far end (use sipp or scapy)"
        for step in sc.steps:
            if isinstance(step, Transfer):
                return "the inproc driver has no SIP dialog to transfer; use sipp or scapy"
            if isinstance(step, Dtmf) and step.method == "info":
                return "the inproc driver has no SIP dialog for SIP INFO; use sipp or scapy"
        if sc.expect.digits is not None or sc.expect.invite is not None:
            return "the inproc driver has no far end to receive digits or an INVITE"
        return None

    async def run(self, loaded: LoadedScenario, ctx: RunContext) -> CallResult:
        sc = loaded.scenario
        call = sc.call
        trunks = [o.resolve(ctx.environ) for o in ctx.desired.inbound]
        rules = [o.resolve(ctx.environ) for o in ctx.desired.rules]
        mode = Mode(ctx.mode)
        headers = tuple((k, v) for k, v in call.headers.items())
        facts = CallFacts(
            from_user=call.from_, to_user=call.to, from_host=call.from_host or call.source,
            src_ip=call.source, headers=headers, call_id_full=f"inproc-{sc.name}", from_tag="inproc",
        )
        rng = random.Random(sc.name)
        decided = route(trunks, rules, facts, mode, rng=rng)
        result = CallResult(trace=list(decided.trace))
        outcome = decided.value
        if outcome.action == "challenge":
            if call.auth is None:
                return _final(result, outcome.status, outcome.reason, outcome)
            trunk = outcome.trunk
            password = resolve_secret(call.auth.password, ctx.environ)
            if trunk is None or call.auth.username != trunk.auth_username or password != trunk.auth_password:
                result.trace.append("the digest answer does not match the trunk's credentials")
                return _final(result, *WRONG_CREDENTIALS, outcome)
            decided = route(trunks, rules, facts, mode, authenticated=True, rng=rng)
            result.trace.extend(decided.trace)
            outcome = decided.value
        if outcome.action == "request_pin":
            _final(result, outcome.status, outcome.reason, outcome)
            pin = "".join(s.dtmf for s in sc.steps if isinstance(s, Dtmf))
            if "#" not in pin:
                result.trace.append("no '#' was sent: LiveKit keeps waiting for the PIN")
                return result
            entered = pin.split("#", 1)[0]
            again = facts.with_pin(pin=entered, no_pin=not entered)
            hint = outcome.trunk.sip_trunk_id if outcome.trunk is not None else ""
            second = dispatch(trunks, rules, again, mode, trunk_id_hint=hint, rng=rng)
            result.trace.extend(second.trace)
            if second.value.action != "accept":
                # As `sipconf explain` reports it: the call reached the trunk and the rule that
                # asked for the PIN, and ended there.
                return result
            _join(result, second.value)
            return _after_steps(result, sc.steps)
        if outcome.action == "drop":
            result.trunk = outcome.trunk.sip_trunk_id if outcome.trunk else None
            return result
        _final(result, outcome.status, outcome.reason, outcome)
        if outcome.action == "accept":
            _join(result, outcome)
        return _after_steps(result, sc.steps)


def _final(result: CallResult, status, reason, outcome) -> CallResult:
    result.status, result.reason, result.final = status, reason, status is not None
    if outcome.trunk is not None:
        result.trunk = outcome.trunk.sip_trunk_id
    if outcome.rule is not None:
        result.rule = outcome.rule.sip_dispatch_rule_id
    return result


def _join(result: CallResult, outcome) -> None:
    ev = outcome.evaluation
    result.joined = True
    result.room = ev.room_name
    result.identity = ev.participant_identity
    result.name = ev.participant_name
    result.attributes = dict(outcome.attributes)
    result.rule = ev.sip_dispatch_rule_id or result.rule
    result.trunk = ev.sip_trunk_id or result.trunk


def _after_steps(result: CallResult, steps) -> CallResult:
    """Hang-ups and removals end the call; the API then no longer lists the participant,
    but the scenario's expectations are about where it was routed, so keep them."""
    for step in steps:
        if isinstance(step, (Hangup, RemoveParticipant)):
            result.trace.append("the call ends")
        elif isinstance(step, Wait) and step.wait == "ended":
            result.trace.append("waited for the end of the call")
    return result
