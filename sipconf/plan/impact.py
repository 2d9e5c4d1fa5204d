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

The plan keeps one RouteChange per number (the JSON form lists them all); the text and markdown
renderers show `group_route_changes`: a run of consecutive numbers with the same before and
after is one row, `+15105550102..+15105550119 (18 numbers)`, so a moved range reads as one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RouteGroup:
    """Consecutive numbers (each the one after the last) whose outcome changes alike."""

    numbers: tuple[str, ...]
    before: RouteOutcome
    after: RouteOutcome

    @property
    def label(self) -> str:
        if len(self.numbers) == 1:
            return self.numbers[0]
        return f"{self.numbers[0]}..{self.numbers[-1]} ({len(self.numbers)} numbers)"


def group_route_changes(changes: tuple[RouteChange, ...]) -> tuple[RouteGroup, ...]:
    """Runs of `changes` (sorted as `route_impact` sorts them) with equal before and after
    whose numbers are consecutive; a gap, or a different outcome, starts a new group."""
    groups: list[RouteGroup] = []
    for rc in changes:
        last = groups[-1] if groups else None
        if last and (last.before, last.after) == (rc.before, rc.after) and _follows(last.numbers[-1], rc.number):
            groups[-1] = RouteGroup(last.numbers + (rc.number,), rc.before, rc.after)
        else:
            groups.append(RouteGroup((rc.number,), rc.before, rc.after))
    return tuple(groups)


def number_runs(numbers: list[str]) -> list[str]:
    """`numbers` with each run of consecutive numbers written `first..last`."""
    runs: list[list[str]] = []
    for number in numbers:
        if runs and _follows(runs[-1][-1], number):
            runs[-1].append(number)
        else:
            runs.append([number])
    return [run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}" for run in runs]


_E164 = re.compile(r"\+[0-9]+")


def _follows(previous: str, number: str) -> bool:
    """`number` is `previous` + 1, as normalised phone numbers of the same length."""
    a, b = normalize_number(previous), normalize_number(number)
    if not (_E164.fullmatch(a) and _E164.fullmatch(b)) or len(a) != len(b):
        return False
    return int(b[1:]) == int(a[1:]) + 1


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
