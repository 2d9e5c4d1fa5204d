"""The create check from an index (sipconf.local.conflicts) gives LiveKit's literal verdict.

Hypothesis draws stored trunks or rules (sharing numbers in several spellings, callers,
PINs, some without numbers or a room rule, some already in conflict with each other) and
a run of creates, with writes by someone else in between (a delete, a stored object
changed, another process): every create's verdict must be exactly that of validating the
whole stored list, sorted by id, with the new object last. Pure: no store, no server (the
control-plane tests go through HTTP in test_sip_trunks.py and test_sip_rules.py).
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings, strategies as st
from livekit.protocol import sip

from sipconf.local.conflicts import CreateCheck, rule_numbers, trunk_numbers
from sipconf.routing.rules import validate_rules
from sipconf.routing.trunks import validate_trunks

SEARCH = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,  # never assert on timings
    suppress_health_check=[HealthCheck.too_slow],
)
NUMBERS = ["+15105550100", "15105550100", "+1 510 555 0100", "+15105550101", "(510) 5550102", "+15105550103", "4420", "alice"]
CALLERS = ["+14085550100", "14085550100", "+14085550101", "bob", ""]
PINS = ["", "", "1234", "99"]
TRUNK_IDS = ["ST_a", "ST_b", "ST_c"]


def some(rng: random.Random, pool: list[str], most: int) -> list[str]:
    return [rng.choice(pool) for _ in range(rng.randrange(most + 1))]


def a_trunk(rng: random.Random) -> sip.SIPInboundTrunkInfo:
    return sip.SIPInboundTrunkInfo(numbers=some(rng, NUMBERS, 3), allowed_numbers=some(rng, CALLERS, 2))


def a_rule(rng: random.Random) -> sip.SIPDispatchRuleInfo:
    rule = sip.SIPDispatchRuleInfo(
        trunk_ids=some(rng, TRUNK_IDS, 2), inbound_numbers=some(rng, CALLERS, 2), numbers=some(rng, NUMBERS, 3)
    )
    kind = rng.choice(["direct", "individual", "callee", "direct", "none" if rng.random() < 0.1 else "callee"])
    pin = rng.choice(PINS)
    if kind == "direct":
        rule.rule.dispatch_rule_direct.room_name, rule.rule.dispatch_rule_direct.pin = "room", pin
    elif kind == "individual":
        rule.rule.dispatch_rule_individual.room_prefix, rule.rule.dispatch_rule_individual.pin = "p", pin
    elif kind == "callee":
        rule.rule.dispatch_rule_callee.room_prefix, rule.rule.dispatch_rule_callee.pin = "c", pin
    return rule


KINDS = {
    "trunk": (a_trunk, validate_trunks, trunk_numbers, "sip_trunk_id"),
    "rule": (a_rule, validate_rules, rule_numbers, "sip_dispatch_rule_id"),
}


def verdict(error):
    return None if error is None else (error.code, error.message)


@SEARCH
@given(
    kind=st.sampled_from(sorted(KINDS)),
    seed=st.integers(0, 2**32 - 1),
    stored=st.integers(0, 12),
    creates=st.integers(1, 25),
    others=st.sampled_from([0.0, 0.1, 0.3]),
)
def test_every_create_gets_the_verdict_of_the_whole_list(kind, seed, stored, creates, others):
    make, validate, numbers, id_field = KINDS[kind]
    rng = random.Random(seed)
    store: dict[str, object] = {}
    serial = 0

    def put(obj) -> None:
        nonlocal serial
        serial += 1
        setattr(obj, id_field, f"ID{rng.randrange(10**6):06d}{serial:03d}")  # ids sort in no creation order
        store[getattr(obj, id_field)] = obj

    for _ in range(stored):
        put(make(rng))
    check, version = CreateCheck(validate, numbers, id_field), 0
    for _ in range(creates):
        if rng.random() < others and store:  # someone else writes: delete, change, or add one
            victim = rng.choice(sorted(store))
            action = rng.randrange(3)
            if action == 0:
                del store[victim]
            elif action == 1:
                changed = make(rng)
                setattr(changed, id_field, victim)
                store[victim] = changed
            else:
                put(make(rng))
            version += 1
        listed = [store[i] for i in sorted(store)]
        new = make(rng)
        expected = verdict(validate([*listed, new]))
        assert verdict(check.check(version if rng.random() > 0.05 else None, lambda: listed, new)) == expected
        if expected is None:
            put(new)
            version += 1
            check.created(version, new)


def test_an_index_is_reused_only_for_the_version_it_was_left_at():
    check = CreateCheck(validate_trunks, trunk_numbers, "sip_trunk_id")
    loads = []

    def stored(objects):
        def load():
            loads.append(len(objects))
            return objects
        return load

    first = sip.SIPInboundTrunkInfo(numbers=["+15105550100"])
    assert check.check((1, 0), stored([]), first) is None
    first.sip_trunk_id = "ST_1"
    check.created((2, 0), first)
    second = sip.SIPInboundTrunkInfo(numbers=["15105550100"])
    assert check.check((2, 0), stored([first]), second).message == (
        'Conflicting inbound SIP Trunks: "<new>" and "ST_1", using the same number(s) ["15105550100"] without AllowedNumbers set'
    )
    assert loads == [0]  # the second create read nothing from the store
    # A refused create wrote nothing, so the index still holds; another version means
    # another writer, and a create not committed (no `created`) leaves nothing to reuse.
    assert check.check((2, 0), stored([first]), sip.SIPInboundTrunkInfo(numbers=["+2"])) is None
    assert check.check((3, 7), stored([]), second) is None
    assert check.check((3, 7), stored([]), second) is None
    assert loads == [0, 0, 0]
