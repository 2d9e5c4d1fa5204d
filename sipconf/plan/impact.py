"""Route impact: for each number whose inbound outcome changes, before -> after.

Computed with the routing engine (`sipconf.routing.trunks.match_trunk`,
`sipconf.routing.rules.select_dispatch_rule`) on the live objects and on the desired ones, in
name space, so outcomes name spec objects. The numbers are every called number a trunk or a
rule lists on either side.

A number is called by representative callers, so allowlist changes show too: each
`allowed_addresses` entry of a trunk that could take the number (its network address for a
prefix, the entry itself for an IP or a From host) plus "any other source" (an address no
entry admits), crossed with each allowed caller (`allowed_numbers` of those trunks,
`inbound_numbers` of the rules that could take it) plus "any other caller". When every
representative changes alike the row names no source; otherwise there is one row per
representative whose outcome changes (`+15105550100 from 127.0.1.0/24: ...`), and unrouting one
needs `--force` like any unroute. Outcomes follow the `explicit` routing mode
(docs/livekit.md#decision-modes): no trunk -> `404 No trunk found`; no rule -> `404 Does not match
Trunks or Dispatch Rules`; a conflict -> `503 Try again later`.

The plan keeps one RouteChange per number and representative (the JSON form lists them all);
the text and markdown renderers show `group_route_changes`: a run of consecutive numbers with
the same representative, before and after is one row, `+15105550102..+15105550119 (18 numbers)`, so a moved range reads as one line.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from google.protobuf.message import Message

from sipconf.plan.changes import RouteChange, RouteOutcome
from sipconf.plan.diff import Side
from sipconf.routing.call import CallFacts
from sipconf.routing.masks import is_valid_mask, match_addr_mask, parse_addr, parse_prefix
from sipconf.routing.numbers import normalize_number, same_number
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


OTHER_SOURCE = "any other source"
OTHER_CALLER = "any other caller"
# Documentation addresses (RFC 5737, RFC 3849): "any other source" is the first no entry admits.
_OTHER_ADDRESSES = ("192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1")


@dataclass(frozen=True)
class Representative:
    """One call to a number: its labels (None when nothing filters on it) and its facts."""

    source: str | None = None
    caller: str | None = None
    src_ip: str = ""
    from_host: str = ""
    from_user: str = ""

    def call(self, number: str) -> CallFacts:
        return CallFacts(from_user=self.from_user, to_user=number, from_host=self.from_host, src_ip=self.src_ip)


def outcome(side: Side, number: str, who: Representative = Representative()) -> RouteOutcome:
    """Where a call to `number` from `who` goes on this side."""
    call = who.call(number)
    match = match_trunk(list(side.trunks), call)
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


def representatives(number: str, *sides: Side) -> list[Representative]:
    """The calls that tell apart every source and caller filter that could apply to `number`:
    those of trunks listing it (or no number) and rules listing it (or no number), on any side."""
    trunks = [t for side in sides for t in side.trunks if not t.numbers or any(same_number(n, number) for n in t.numbers)]
    masks = _unique(m for t in trunks for m in t.allowed_addresses if is_valid_mask(m))
    callers = _unique(n for t in trunks for n in t.allowed_numbers)
    takers = [r for side in sides for r in side.rules if not r.numbers or number in r.numbers]
    callers += [n for n in _unique(n for r in takers for n in r.inbound_numbers) if n not in callers]
    sources = [Representative()]
    if masks:
        other = next((ip for ip in _OTHER_ADDRESSES if not any(match_addr_mask(ip, m) for m in masks)), None)
        sources = [_from_mask(m, other or "") for m in masks]
        if other is not None:
            sources.append(Representative(OTHER_SOURCE, src_ip=other))
    if not callers:
        return sources
    who = [(f"caller {n}", n) for n in callers] + [(OTHER_CALLER, "")]
    return [replace(s, caller=label, from_user=user) for s in sources for label, user in who]


def route_impact(before: Side, after: Side) -> tuple[RouteChange, ...]:
    """Numbers (and representative calls) whose outcome differs, sorted by normalised number."""
    seen: dict[str, str] = {}
    for number in sorted(numbers_of(before) | numbers_of(after)):
        seen.setdefault(normalize_number(number), number)
    out: list[RouteChange] = []
    for key in sorted(seen):
        number = seen[key]
        calls = representatives(number, before, after)
        changed = []
        for who in calls:
            old, new = outcome(before, number, who), outcome(after, number, who)
            if old != new:
                changed.append((who, old, new))
        if len(changed) == len(calls) and len({(old, new) for _, old, new in changed}) == 1:
            # Every source and caller sees the same change: one row that names none of them.
            out.append(RouteChange(number, changed[0][1], changed[0][2]))
        else:
            out += [RouteChange(number, old, new, who.source, who.caller) for who, old, new in changed]
    return tuple(out)


@dataclass(frozen=True)
class RouteGroup:
    """Consecutive numbers (each the one after the last), called by the same representative,
    whose outcome changes alike."""

    numbers: tuple[str, ...]
    before: RouteOutcome
    after: RouteOutcome
    via: str = ""

    @property
    def label(self) -> str:
        if len(self.numbers) == 1:
            return self.numbers[0] + self.via
        return f"{self.numbers[0]}..{self.numbers[-1]} ({len(self.numbers)} numbers){self.via}"

    @property
    def run(self) -> str:
        """The short label: `first..last` and the representative."""
        if len(self.numbers) == 1:
            return self.numbers[0] + self.via
        return f"{self.numbers[0]}..{self.numbers[-1]}{self.via}"


def group_route_changes(changes: tuple[RouteChange, ...], *, by_outcome: bool = True) -> tuple[RouteGroup, ...]:
    """Runs of `changes` (sorted as `route_impact` sorts them) from the same representative,
    with equal before and after (any, when `by_outcome` is false), whose numbers are
    consecutive; a gap, or a different outcome, starts a new group. Groups are in the order of
    their first number."""
    groups: list[RouteGroup] = []
    open_group: dict[tuple, int] = {}  # the group that a run with this key would continue
    for rc in changes:
        key = (rc.via, rc.before, rc.after) if by_outcome else (rc.via,)
        at = open_group.get(key)
        if at is not None and _follows(groups[at].numbers[-1], rc.number):
            last = groups[at]
            groups[at] = RouteGroup(last.numbers + (rc.number,), last.before, last.after, last.via)
        else:
            open_group[key] = len(groups)
            groups.append(RouteGroup((rc.number,), rc.before, rc.after, rc.via))
    return tuple(groups)


def unrouted_runs(changes: tuple[RouteChange, ...]) -> tuple[int, list[str]]:
    """How many numbers `changes` unroute, and their runs (`first..last`, per representative)."""
    unrouted = tuple(rc for rc in changes if rc.unroutes)
    count = len({normalize_number(rc.number) for rc in unrouted})
    return count, [g.run for g in group_route_changes(unrouted, by_outcome=False)]


_E164 = re.compile(r"\+[0-9]+")


def _follows(previous: str, number: str) -> bool:
    """`number` is `previous` + 1, as normalised phone numbers of the same length."""
    a, b = normalize_number(previous), normalize_number(number)
    if not (_E164.fullmatch(a) and _E164.fullmatch(b)) or len(a) != len(b):
        return False
    return int(b[1:]) == int(a[1:]) + 1


def _from_mask(mask: str, other: str) -> Representative:
    """A call the entry admits: from its network address, its address, or its From host."""
    prefix = parse_prefix(mask) if "/" in mask else None
    if prefix is not None:
        host_bits = (32 if prefix.addr.version == 4 else 128) - prefix.bits
        family = ipaddress.IPv4Address if prefix.addr.version == 4 else ipaddress.IPv6Address
        network = family(prefix.addr.value >> host_bits << host_bits)
        return Representative(mask, src_ip=str(network))
    if "/" not in mask and parse_addr(mask) is not None:
        return Representative(mask, src_ip=mask)
    return Representative(mask, src_ip=other, from_host=mask)  # a host name: From host equality


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _room(rule: Message, number: str) -> str:
    """The room, or its pattern when LiveKit adds the caller or a random suffix
    (docs/livekit.md#rule-evaluation)."""
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
