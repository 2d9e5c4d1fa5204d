"""Explain a call by asking the routing engine, the way the bridge does, and keeping its trace.

No routing rule lives here: `authenticate` and `route` decide, and their traces are sorted
into the trunk and rule sections. What this module adds is the caller's side of the dialog:
answering the digest challenge with --auth, and entering --pin at the PIN prompt
(docs/livekit.md#pin-flow).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field, replace
from typing import Mapping

from google.protobuf.message import Message

from sipconf.checks.prepared import placeholder_message
from sipconf.explain.model import Agent, AuthInfo, Explanation
from sipconf.model import DesiredState, set_path
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import LiveKitError
from sipconf.routing.ids import new_id
from sipconf.routing.order import Precedence, precedence
from sipconf.routing.route import Mode, authenticate, route
from sipconf.routing.rules import rule_priority
from sipconf.sip.status_lines import WRONG_CREDENTIALS

RANDOM_SUFFIX = "<random 12>"


@dataclass(frozen=True)
class CallRequest:
    """What `sipconf explain` was asked: the INVITE's facts and the caller's answers."""

    to_user: str
    from_user: str = "anonymous"  # RFC 3323: the From user of a call with a withheld number
    src_ip: str = ""
    from_host: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    pin: str | None = None
    auth: tuple[str, str] | None = None
    mode: Mode = Mode.EXPLICIT
    environ: Mapping[str, str] | None = field(default=None, compare=False)

    def facts(self, rng: random.Random | None) -> CallFacts:
        return CallFacts(
            from_user=self.from_user, to_user=self.to_user, from_host=self.from_host, src_ip=self.src_ip,
            sip_call_id=new_id("SCL_", rng), headers=self.headers,
        )


def _rule_messages(state: DesiredState, request: CallRequest, notes: list[str]) -> list[Message]:
    """Rules with PIN placeholders; with --pin, PIN secrets are resolved where the environment
    has them. An unset one stays a placeholder no entered PIN can equal, and a note says so."""
    out = []
    environ = os.environ if request.environ is None else request.environ
    for obj in state.rules:
        msg = placeholder_message(obj)
        for path, ref in obj.secrets.items() if request.pin is not None else ():
            if ref.env and ref.env in environ:
                set_path(msg, path, environ[ref.env])
            elif ref.file:
                set_path(msg, path, ref.resolve(environ))
            elif ref.literal is None:
                notes.append(f"the PIN of rule {obj.name} ({ref.describe()}) is not available: no PIN opens it")
        out.append(msg)
    return out


def _password(state: DesiredState, trunk_name: str, environ: Mapping[str, str] | None) -> str:
    obj = state.find("inbound_trunk", trunk_name)
    return obj.resolve(environ).auth_password if obj is not None else ""


def explain_call(state: DesiredState, request: CallRequest, rng: random.Random | None = None) -> Explanation:
    """The whole story of one inbound call on `state`, from the engine's decisions."""
    trunks = [placeholder_message(o) for o in state.inbound]
    notes: list[str] = []
    rules = _rule_messages(state, request, notes)
    call = request.facts(rng)
    auth = authenticate(trunks, call, request.mode)
    step = auth.value
    info = AuthInfo(required=False)
    if step.result == "password":
        info = AuthInfo(True, step.trunk.sip_trunk_id, step.username, step.realm)
        if request.auth is None:
            notes.append("no --auth given: assuming the caller answers the digest challenge")
        else:
            user, password = request.auth
            ok = user == step.username and password == _password(state, step.trunk.sip_trunk_id, request.environ)
            info = replace(info, checked=True, passes=ok)
            if not ok:
                trace = auth.trace + (f"the credentials do not match: {WRONG_CREDENTIALS}",)
                return Explanation(
                    call=_call_json(request), mode=str(request.mode), trunks=_section(trace, "trunk"), auth=info,
                    rules=(), action="reject", status=WRONG_CREDENTIALS.code, reason=WRONG_CREDENTIALS.reason,
                    trunk=step.trunk.sip_trunk_id, notes=tuple(notes), trace=trace,
                )
    decision = route(trunks, rules, call, request.mode, project_id=state.project, authenticated=True, rng=rng)
    trace = decision.trace
    outcome = decision.value
    entered = None
    if outcome.action == "request_pin" and request.pin is not None:
        # docs/livekit.md#pin-flow: the caller is prompted, enters the digits and `#`;
        # dispatch is asked again.
        notes.append("PIN entered at the prompt")
        entered = call.with_pin(pin=request.pin, no_pin=request.pin == "")
        again = route(trunks, rules, entered, request.mode, project_id=state.project, authenticated=True, rng=rng)
        decision, trace, outcome = again, trace + ("-- after the PIN prompt --",) + again.trace, again.value
    elif request.pin is not None:
        notes.append("no PIN prompt: the call is decided before any PIN is asked, so --pin is not used")
    why = _why(rules, outcome, call, entered)
    return _explanation(request, info, decision, outcome, trace, notes, why)


def _why(rules: list[Message], outcome, call: CallFacts, entered: CallFacts | None) -> Precedence | None:
    """Why the outcome's rule was chosen: asked of the call with the PIN entered when one was
    (the decision that chose the room), else of the call as it arrived (the one that chose the
    prompt, and the rule a wrong PIN is checked against)."""
    if outcome.rule is None:
        return None
    for facts in (entered, call):
        if facts is not None:
            why = _precedence(rules, outcome.trunk, facts, outcome.rule)
            if why is not None:
                return why
    return None


def _precedence(rules, trunk, facts, rule) -> Precedence | None:
    try:
        return precedence(rules, trunk, facts, rule)
    except LiveKitError:  # an unset rule has no place in the order; the error says why
        return None


def _explanation(request, info, decision, outcome, trace, notes, why: Precedence | None = None) -> Explanation:
    ev = outcome.evaluation
    rule = outcome.rule
    fields: dict = {}
    if ev is not None and ev.result == "ACCEPT":
        room = ev.room_name
        if ev.room_name_random:
            room = room[:-12] + RANDOM_SUFFIX  # `_<12 random>` (docs/livekit.md#room-naming)
        agents = tuple(Agent(a.agent_name, a.metadata) for a in ev.room_config.agents) if ev.room_config else ()
        fields = dict(
            room=room, room_random=ev.room_name_random, identity=ev.participant_identity,
            name=ev.participant_name, metadata=ev.participant_metadata,
            attributes=dict(sorted((outcome.attributes or ev.participant_attributes).items())), agents=agents,
        )
    error = decision.error
    return Explanation(
        call=_call_json(request), mode=str(request.mode), trunks=_section(trace, "trunk"), auth=info,
        rules=_section(trace, "rule"), action=outcome.action, status=outcome.status, reason=outcome.reason,
        trunk=outcome.trunk.sip_trunk_id if outcome.trunk is not None else None,
        rule=rule.sip_dispatch_rule_id if rule is not None else None,
        rule_priority=_priority(rule), rule_reason=why.reason if why else None,
        rule_runner_up=why.runner_up.sip_dispatch_rule_id if why and why.runner_up else None,
        rule_runner_up_priority=_priority(why.runner_up) if why and why.runner_up else None,
        error=error.message if error else None,
        error_code=(error.code or "error") if error else None, notes=tuple(notes), trace=tuple(trace), **fields,
    )


def _priority(rule) -> int | None:
    if rule is None:
        return None
    try:
        return rule_priority(rule)
    except Exception:  # an unset rule has no priority; the error says why
        return None


def _section(trace: tuple[str, ...], word: str) -> tuple[str, ...]:
    """The trace lines about trunks (or rules), once each, in order."""
    prefixes = (f"{word} ", f"no {word}", f"no inbound {word}", f"no dispatch {word}")
    return tuple(dict.fromkeys(line for line in trace if line.startswith(prefixes)))


def _call_json(request: CallRequest) -> dict[str, object]:
    return {
        "from": request.from_user, "to": request.to_user, "src_ip": request.src_ip,
        "from_host": request.from_host, "headers": [list(h) for h in request.headers],
        "pin_given": request.pin is not None, "auth_given": request.auth is not None,
    }
