"""Route impact: for each number whose inbound outcome changes, before -> after.

Computed with the routing engine (`sipconf.routing.trunks.match_trunk`,
`sipconf.routing.rules.select_dispatch_rule`) on the live objects and on the desired ones, in
name space, so outcomes name spec objects. The numbers are every called number a trunk or a
rule lists on either side.

The call placed for a number comes from a caller the trunk admits: a trunk's caller and address
allowlists are not applied (they filter *who* calls, not *where* a number goes), and the caller
number is empty, so caller-specific rules (`inbound_numbers`) do not take it. Outcomes follow
the `explicit` routing mode (issue 3 section 3): no trunk -> `404 No trunk found`; no rule ->
`404 Does not match Trunks or Dispatch Rules`; a conflict -> `503 Try again later`.
"""

from __future__ import annotations

from google.protobuf.message import Message

from sipconf.livekit import translate
from sipconf.plan.changes import RouteChange, RouteOutcome
from sipconf.plan.diff import Side
from sipconf.routing.call import CallFacts
from sipconf.routing.numbers import normalize_number
from sipconf.routing import rules
from sipconf.routing.rules import rule_kind, select_dispatch_rule
from sipconf.routing.trunks import match_trunk

NO_TRUNK = "404 No trunk found"
NO_RULE = "404 Does not match Trunks or Dispatch Rules"
CONFLICT = "503 Try again later"


def numbers_of(side: Side) -> set[str]:
    found = {n for t in side.trunks for n in t.numbers}
    found |= {n for r in side.rules for n in r.numbers}
    return found


def outcome(side: Side, number: str) -> RouteOutcome:
    """Where a call to `number` goes on this side."""
    trunks = [_admit_all(t) for t in side.trunks]
    call = CallFacts(from_user="", to_user=number)
    match = match_trunk(trunks, call)
    if not match.ok:
        return RouteOutcome(rejection=f"{CONFLICT}: {match.error.message}")
    trunk = match.value.trunk
    if trunk is None:
        return RouteOutcome(rejection=NO_TRUNK)
    chosen = select_dispatch_rule(list(side.rules), trunk, call)
    if not chosen.ok:
        if chosen.error.message == rules.NO_RULE:
            return RouteOutcome(trunk=trunk.name, rejection=NO_RULE)
        return RouteOutcome(trunk=trunk.name, rejection=f"{CONFLICT}: {chosen.error.message}")
    rule = chosen.value
    return RouteOutcome(trunk=trunk.name, rule=rule.name, room=_room(rule, number))


def route_impact(before: Side, after: Side) -> tuple[RouteChange, ...]:
    """Numbers whose outcome differs, sorted by normalised number."""
    seen: dict[str, str] = {}
    for number in sorted(numbers_of(before) | numbers_of(after)):
        seen.setdefault(normalize_number(number), number)
    out = []
    for key in sorted(seen):
        number = seen[key]
        old, new = outcome(before, number), outcome(after, number)
        if old != new:
            out.append(RouteChange(number, old, new))
    return tuple(out)


def _admit_all(trunk: Message) -> Message:
    out = translate.copy(trunk)
    del out.allowed_numbers[:]
    del out.allowed_addresses[:]
    return out


def _room(rule: Message, number: str) -> str:
    """The room, or its pattern when LiveKit adds the caller or a random suffix (SEMANTICS 3.5)."""
    kind = rule_kind(rule)
    member = getattr(rule.rule, kind)
    pin = " (PIN)" if member.pin else ""
    if kind == "dispatch_rule_direct":
        return member.room_name + pin
    if kind == "dispatch_rule_individual":
        base = f"{member.room_prefix}_<caller>" if member.room_prefix else "<caller>"
        return base + ("" if member.no_randomness else "_<random>") + pin
    base = f"{member.room_prefix}_{number}"
    return base + ("_<random>" if member.randomize else "") + pin
