"""Route impact, worked out only where a changed object reaches and only with the trunks and
rules that list a number, says what the literal evaluation says: every number of either side,
each representative call routed through *every* trunk and rule of each side
(`match_trunk`, `select_dispatch_rule`), as route impact was first computed.

Hypothesis draws a seed; the sides are built from it: up to a few dozen trunks and rules
sharing numbers in several spellings, default trunks, address and caller allowlists, rules
naming no trunk, PINs, conflicts; the second side is the first edited (numbers moved,
allowlists and rooms changed, objects added and removed), and the first carries what a
live read-back adds (`media {}`), which changes no route. Both are compared call by call:
each row is spread back into (number, source, caller, before, after).
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings, strategies as st
from livekit.protocol import sip

from sipconf.plan.callers import Call, calls_to
from sipconf.plan.changes import OTHER_CALLER, RouteOutcome
from sipconf.plan.diff import Side
from sipconf.plan.impact import CONFLICT, NO_RULE, NO_TRUNK, Routes, numbers_of, room_pattern, route_impact
from sipconf.routing import rules as rule_engine
from sipconf.routing.numbers import normalize_number
from sipconf.routing.rules import select_dispatch_rule
from sipconf.routing.trunks import match_trunk

SEARCH = settings(
    max_examples=60,
    derandomize=True,  # the same examples on every run and machine
    database=None,
    deadline=None,  # never assert on timings
    suppress_health_check=[HealthCheck.too_slow],
)
NUMBERS = [f"+1510555{n:04d}" for n in range(100, 112)] + ["4420"]
CALLERS = ["+14085550100", "14085550100", "+14085550101", "+14085550102", "bob"]
ADDRESSES = ["127.0.0.0/24", "127.0.0.1", "127.0.1.0/24", "127.0.0.0/16", "carrier.example", "10.0.0.0/8", "::1"]
PINS = ["", "", "", "1234"]


def spelled(rng: random.Random, number: str) -> str:
    digits = number.lstrip("+")
    if not digits.isdigit() or rng.random() < 0.7:
        return number
    return rng.choice([digits, f"+{digits[:1]} {digits[1:4]} {digits[4:]}", f"({digits[1:4]}) {digits[4:]}"])


def some(rng: random.Random, pool: list[str], most: int) -> list[str]:
    return list(dict.fromkeys(rng.choice(pool) for _ in range(rng.randrange(most + 1))))


def a_trunk(rng: random.Random, name: str) -> sip.SIPInboundTrunkInfo:
    numbers = [] if rng.random() < 0.08 else [spelled(rng, n) for n in some(rng, NUMBERS, 4)] or [rng.choice(NUMBERS)]
    return sip.SIPInboundTrunkInfo(
        sip_trunk_id=name, name=name, numbers=numbers,
        allowed_addresses=some(rng, ADDRESSES, 2) if rng.random() < 0.5 else [],
        allowed_numbers=some(rng, CALLERS, 3) if rng.random() < 0.3 else [],
    )


def a_rule(rng: random.Random, name: str, trunks: list[str]) -> sip.SIPDispatchRuleInfo:
    rule = sip.SIPDispatchRuleInfo(
        sip_dispatch_rule_id=name, name=name,
        trunk_ids=some(rng, trunks, 2) if trunks and rng.random() < 0.85 else [],
        numbers=some(rng, NUMBERS, 3) if rng.random() < 0.7 else [],
        inbound_numbers=some(rng, CALLERS, 2) if rng.random() < 0.2 else [],
    )
    kind, pin, room = rng.choice(["direct", "individual", "callee"]), rng.choice(PINS), rng.choice(["a", "b", "c"])
    member = getattr(rule.rule, f"dispatch_rule_{kind}")
    setattr(member, "room_name" if kind == "direct" else "room_prefix", room)
    member.pin = pin
    return rule


def rules_of(rng: random.Random, names: list[str], trunks: list[str], clean: bool, beside=()) -> list[sip.SIPDispatchRuleInfo]:
    """Rules named `names` in turn; `clean`: each drawn again (a few times) while it would
    conflict with those before it (and `beside`), so that rule selection, not a 503, decides
    most calls."""
    out: list[sip.SIPDispatchRuleInfo] = []
    for name in names:
        rule = a_rule(rng, name, trunks)
        for _ in range(5 if clean else 0):
            if rule_engine.validate_rules([*beside, *out, rule]) is None:
                break
            rule = a_rule(rng, name, trunks)
        out.append(rule)
    return out


def edited(rng: random.Random, side: Side, rate: float, clean: bool) -> Side:
    """`side` with about `rate` of its objects deleted and as many replaced, and a few added;
    `clean`: with no new rule conflict."""
    names = [t.name for t in side.trunks]
    trunks = []
    for trunk in side.trunks:
        roll = rng.random()
        if roll < rate:
            continue  # deleted
        trunks.append(a_trunk(rng, trunk.name) if roll < 2 * rate else trunk)
    trunks += [a_trunk(rng, f"new{i}") for i in range(rng.randrange(3) if rng.random() < rate * 3 else 0)]
    kept = [t.name for t in trunks] or names
    rules = []
    for rule in side.rules:
        roll = rng.random()
        if roll < rate:
            continue
        rules.append(a_rule(rng, rule.name, kept) if roll < 2 * rate else rule)
    if clean and rule_engine.validate_rules(rules) is not None:
        rules = [r for r in side.rules if r.name in {x.name for x in rules}]  # the edit conflicted: deletes only
    added = [f"new-r{i}" for i in range(rng.randrange(3) if rng.random() < rate * 3 else 0)]
    rules += rules_of(rng, added, kept, clean, rules)
    return Side(tuple(sorted(trunks, key=lambda t: t.name)), tuple(sorted(rules, key=lambda r: r.name)))


def as_read_back(rng: random.Random, side: Side) -> Side:
    """What a live read-back adds: LiveKit's Upgrade() leaves `media {}` on some objects."""
    def upgraded(msg):
        if rng.random() < 0.5:
            return msg
        out = type(msg)()
        out.CopyFrom(msg)
        out.media.SetInParent()
        return out
    return Side(tuple(map(upgraded, side.trunks)), tuple(map(upgraded, side.rules)))


def literal_outcome(side: Side, number: str, call: Call) -> RouteOutcome:
    """Every trunk and every rule of the side, as LiveKit routes: no restriction, no reuse."""
    facts = call.facts(number)
    match = match_trunk(list(side.trunks), facts)
    if not match.ok:
        return RouteOutcome(rejection=f"{CONFLICT}: {match.error.message}")
    trunk = match.value.trunk
    if trunk is None:
        return RouteOutcome(rejection=NO_TRUNK)
    chosen = select_dispatch_rule(list(side.rules), trunk, facts)
    if not chosen.ok:
        if chosen.error.message == rule_engine.NO_RULE:
            return RouteOutcome(trunk=trunk.name, rejection=NO_RULE)
        return RouteOutcome(trunk=trunk.name, rejection=f"{CONFLICT}: {chosen.error.message}")
    return RouteOutcome(trunk=trunk.name, rule=chosen.value.name, room=room_pattern(chosen.value))


def members(callers) -> tuple[str, ...]:
    return callers.numbers or (OTHER_CALLER,)


def spelled_once(before: Side, after: Side) -> list[str]:
    """Every number either side lists, each once (its first spelling in sorted order)."""
    seen: dict[str, str] = {}
    for number in sorted(numbers_of(before) | numbers_of(after)):
        seen.setdefault(normalize_number(number), number)
    return [seen[key] for key in sorted(seen)]


def literal_changes(before: Side, after: Side) -> set[tuple]:
    out = set()
    routes = Routes(before), Routes(after)
    for number in spelled_once(before, after):
        sources, classes = calls_to(number, *routes)
        for source in sources:
            for callers in classes:
                call = Call(source, callers)
                old, new = literal_outcome(before, number, call), literal_outcome(after, number, call)
                if old != new:
                    out.update((number, source.label, caller, old, new) for caller in members(callers))
    return out


def impact_changes(before: Side, after: Side) -> set[tuple]:
    out = set()
    routes = Routes(before), Routes(after)
    for row in route_impact(before, after):
        for number in row.numbers:
            sources, classes = calls_to(number, *routes)
            labels = row.sources if row.sources is not None else [s.label for s in sources]
            callers = row.callers if row.callers is not None else [c for k in classes for c in members(k)]
            out.update((number, label, caller, row.before, row.after) for label in labels for caller in callers)
    return out


@SEARCH
@given(
    seed=st.integers(0, 2**32 - 1),
    trunks=st.integers(0, 25),
    rules=st.integers(0, 25),
    rate=st.sampled_from([0.0, 0.03, 0.1, 0.2]),  # from no edit to many: one edit is where a missed reach shows
    clean=st.booleans(),
)
def test_route_impact_equals_routing_every_number_through_every_object(seed, trunks, rules, rate, clean):
    rng = random.Random(seed)
    names = [f"t{i}" for i in range(trunks)]
    rule_names = sorted(f"r{i}" for i in range(rules))  # sorted as the diff's sides are
    before = Side(tuple(a_trunk(rng, n) for n in names), tuple(rules_of(rng, rule_names, names, clean)))
    after = edited(rng, before, rate, clean)
    live = as_read_back(rng, before)
    assert impact_changes(live, after) == literal_changes(live, after)
    assert impact_changes(after, as_read_back(rng, after)) == set() == literal_changes(after, as_read_back(rng, after))
