"""The grouped checks give exactly the answers of the literal, pairwise ones.

The checks look objects up by number, trunk and PIN instead of comparing every pair; the
literal paths are LiveKit's validators called once per object (`first_rejected`) and the
pairwise loops below, written the plain way. Both run on generated specs (bench/gen_spec.py)
and on random ones (hypothesis) whose small pools of numbers, callers, trunks and PINs make
conflicts, overlaps and collisions common.
"""

from __future__ import annotations

import json
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st
from livekit.protocol import sip as sip_pb

from bench.gen_spec import spec_text
from sipconf.checks.base import label
from sipconf.checks.callspace import OTHER_CALLED, OTHER_CALLER, CallSpace, sources
from sipconf.checks.conflicts import rejected_rules, rejected_trunks
from sipconf.checks.livekit import accepted_rules, first_rejected
from sipconf.checks.pins import PinCollision
from sipconf.checks.prepared import Prepared
from sipconf.checks.trunks import InboundTrunksOverlap
from sipconf.routing.call import CallFacts
from sipconf.routing.numbers import normalize_number, same_number
from sipconf.routing.rules import pin_and_room, select_dispatch_rule, validate_rules
from sipconf.routing.trunks import match_trunk, validate_trunks
from sipconf.spec import SpecError, loads

# -- LiveKit's conflict validators: grouped == once per object -------------------------------

# Spellings LiveKit normalises alike, users that are not numbers, and the empty string.
RAW_NUMBERS = ["+15105550100", "15105550100", "+1 510 555 0100", "+15105550101", "alice", "Alice", ""]


def _same(grouped, literal) -> None:
    assert [(i, e.code, e.message) for i, e in grouped] == [(i, e.code, e.message) for i, e in literal]


@st.composite
def trunk_messages(draw):
    return sip_pb.SIPInboundTrunkInfo(
        sip_trunk_id=draw(st.sampled_from(["a", "b", "c", "d", ""])),
        numbers=draw(st.lists(st.sampled_from(RAW_NUMBERS), max_size=3)),
        allowed_numbers=draw(st.lists(st.sampled_from(RAW_NUMBERS), max_size=2)),
    )


@st.composite
def rule_messages(draw):
    rule = sip_pb.SIPDispatchRuleInfo(
        sip_dispatch_rule_id=draw(st.sampled_from(["r1", "r2", "r3", ""])),
        name=draw(st.sampled_from(["one", "two", ""])),
        trunk_ids=draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2)),
        numbers=draw(st.lists(st.sampled_from(RAW_NUMBERS), max_size=2)),
        inbound_numbers=draw(st.lists(st.sampled_from(RAW_NUMBERS), max_size=2)),
    )
    kind = draw(st.sampled_from(["direct", "individual", "callee", None]))
    pin = draw(st.sampled_from(["", "", "1234", "5678"]))
    if kind == "direct":
        rule.rule.dispatch_rule_direct.room_name = "room"
        rule.rule.dispatch_rule_direct.pin = pin
    elif kind == "individual":
        rule.rule.dispatch_rule_individual.pin = pin
    elif kind == "callee":
        rule.rule.dispatch_rule_callee.pin = pin
    return rule


@settings(max_examples=300, deadline=None)
@given(st.lists(trunk_messages(), max_size=8))
def test_grouped_trunk_conflicts_are_the_literal_ones(trunks):
    _same(rejected_trunks(trunks), first_rejected(trunks, validate_trunks))


@settings(max_examples=300, deadline=None)
@given(st.lists(rule_messages(), max_size=8))
def test_grouped_rule_conflicts_are_the_literal_ones(rules):
    _same(rejected_rules(rules), first_rejected(rules, validate_rules))


def test_grouped_conflicts_on_a_generated_spec_with_conflicts_added():
    state = loads(spec_text(300), "gen.yaml")
    trunks = [o.message for o in state.inbound]
    rules = [o.message for o in state.rules]
    # Every tenth object again under a new id: each copy conflicts with its original.
    copies = [sip_pb.SIPInboundTrunkInfo(sip_trunk_id=f"copy-{t.sip_trunk_id}", numbers=t.numbers) for t in trunks[::10]]
    rule_copies = []
    for rule in rules[::10]:
        copy = sip_pb.SIPDispatchRuleInfo()
        copy.CopyFrom(rule)
        copy.sip_dispatch_rule_id = f"copy-{rule.sip_dispatch_rule_id}"
        rule_copies.append(copy)
    mixed_trunks = [x for pair in zip(trunks, copies + trunks) for x in pair][: len(trunks) + len(copies)]
    mixed_rules = rules[:15] + rule_copies + rules[15:]
    _same(rejected_trunks(mixed_trunks), first_rejected(mixed_trunks, validate_trunks))
    _same(rejected_rules(mixed_rules), first_rejected(mixed_rules, validate_rules))
    assert len(list(rejected_trunks(mixed_trunks))) == len(copies)
    assert len(list(rejected_rules(mixed_rules))) == len(rule_copies)


# -- Whole specs: the grouped checks against pairwise ones ---------------------------------

NUMBERS = ["+15105550100", "+15105550101", "+14155550100", {"user": "15105550100"}, {"user": "alice"}]
CALLERS = ["+14085550001", "+14085550002", {"user": "14085550001"}, {"user": "bob"}]
ADDRESSES = ["127.0.0.1", "127.0.0.0/24", "127.0.1.0/24", "pbx.example.test"]


def _some(pool, max_size):
    return st.lists(st.sampled_from(range(len(pool))), max_size=max_size, unique=True).map(
        lambda picks: [pool[i] for i in picks]
    )


@st.composite
def specs(draw):
    trunks = {}
    for index in range(draw(st.integers(0, 5))):
        half = {
            "numbers": draw(_some(NUMBERS, 3)),
            "allowed_numbers": draw(_some(CALLERS, 2)),
            "allowed_addresses": draw(_some(ADDRESSES, 2)),
        }
        trunks[f"t{index}"] = {"inbound": {k: v for k, v in half.items() if v}}
    rules = {}
    names = [*trunks, "ghost"]
    for index in range(draw(st.integers(0, 7))):
        kind = draw(st.sampled_from(["direct", "individual", "callee"]))
        body = {"room": draw(st.sampled_from(["a", "b"]))} if kind == "direct" else {"room_prefix": "p"}
        pin = draw(st.sampled_from(["", "", "1234", "5678"]))
        if pin:
            body["pin"] = pin
        rule = {
            "trunks": draw(st.lists(st.sampled_from(names), max_size=2, unique=True)),
            "numbers": draw(_some(NUMBERS, 2)),
            "inbound_numbers": draw(_some(CALLERS, 2)),
            kind: body,
        }
        rules[f"r{index}"] = {k: v for k, v in rule.items() if v}
    return json.dumps({"version": 1, "project": "p", "trunks": trunks, "dispatch_rules": rules})


def _state(text):
    try:
        return loads(text, "random.yaml")
    except SpecError as err:  # a trunk with nothing to let calls in, a number listed twice...
        return err.state


def pairwise_overlaps(state) -> list[str]:
    """InboundTrunksOverlap written the plain way: every pair, every trunk."""
    pairs = Prepared(state).inbound
    everything = [m for _, m in pairs]
    out = []
    for (obj_a, a), (obj_b, b) in combinations(pairs, 2):
        if validate_trunks([a, b]) is not None:
            continue
        shared = [OTHER_CALLED] if not a.numbers and not b.numbers else [
            n for n in a.numbers if any(same_number(n, m) for m in b.numbers)
        ]
        callers = list(dict.fromkeys([*a.allowed_numbers, *b.allowed_numbers, OTHER_CALLER]))
        found = next((
            (call, pair.error.message)
            for to_user in shared for from_user in callers for src_ip, host in sources(a, b)
            for call in [CallFacts(from_user=from_user, to_user=to_user, src_ip=src_ip, from_host=host)]
            for pair in [match_trunk([a, b], call)]
            if pair.error is not None and match_trunk(everything, call).error is not None
        ), None)
        if found is not None:
            call, error = found
            src = f" from host {call.from_host}" if call.from_host else f" from {call.src_ip}"
            out.append(f"{label(obj_a)} and {label(obj_b)} both accept a call to {call.to_user} from caller"
                       f" {call.from_user}{src}: LiveKit answers 503 Try again later ({error});"
                       " give them distinct numbers or non-overlapping allowed_numbers/allowed_addresses")
    return out


class PairwiseCallSpace(CallSpace):
    """CallSpace written the plain way: signatures over every rule and trunk, candidate trunks
    by scanning them all, each witness matched literally against every trunk."""

    def _called_signature(self, value):
        norm = normalize_number(value)
        return tuple(value in r.numbers for r in self.rules) + tuple(
            value in t.numbers or norm in map(normalize_number, t.numbers) for t in self.trunks
        )

    def _caller_signature(self, value):
        norm = normalize_number(value)
        return tuple(value in r.inbound_numbers for r in self.rules) + tuple(
            value in t.allowed_numbers or norm in map(normalize_number, t.allowed_numbers) for t in self.trunks
        )

    def candidate_trunks(self, rule):
        if not self.trunks:
            return [] if rule.trunk_ids else [None]
        return [t for t in self.trunks if not rule.trunk_ids or t.sip_trunk_id in rule.trunk_ids]

    def _lands_on(self, trunk, call):
        if trunk is None:
            return True
        decision = match_trunk(list(self.trunks), call)
        return decision.error is None and decision.value.trunk is trunk


def pairwise_pin_collisions(state) -> list[tuple[str, str, str, str]]:
    prepared = Prepared(state)
    accepted = accepted_rules(prepared)
    space = PairwiseCallSpace.of(prepared, accepted)
    with_pin = [(o, r) for o, r in accepted if pin_and_room(r)[0]]
    out = []
    for (obj_a, a), (obj_b, b) in combinations(with_pin, 2):
        pin = pin_and_room(a)[0]
        if pin != pin_and_room(b)[0]:
            continue
        for witness in space.witnesses(a):
            call = witness.call.with_pin(pin=pin)
            if select_dispatch_rule([b], witness.trunk, call).value is b:
                out.append((obj_a.name, obj_b.name, call.to_user, call.from_user))
                break
    return out


def _witnesses(space, rules):
    return [[(w.trunk.sip_trunk_id if w.trunk else None, w.call) for w in space.witnesses(rule)] for rule in rules]


def _check_against_pairwise(state) -> None:
    assert [i.message for i in InboundTrunksOverlap().run(state)] == pairwise_overlaps(state)
    collisions = [i.message for i in PinCollision().run(state)]
    assert collisions == [
        f'dispatch rules "{a}" and "{b}" use the same PIN and both accept calls to {to} from {caller}: the PIN'
        " cannot tell their rooms apart; give each rule its own PIN"
        for a, b, to, caller in pairwise_pin_collisions(state)
    ]
    prepared = Prepared(state)
    accepted = accepted_rules(prepared)
    rules = [m for _, m in accepted]
    grouped, pairwise = CallSpace.of(prepared, accepted), PairwiseCallSpace.of(prepared, accepted)
    assert _witnesses(grouped, rules) == _witnesses(pairwise, rules)


@settings(max_examples=150, deadline=None)
@given(specs())
def test_grouped_checks_are_the_pairwise_ones_on_random_specs(text):
    state = _state(text)
    if state is not None:
        _check_against_pairwise(state)


def test_grouped_checks_are_the_pairwise_ones_on_a_generated_spec():
    state = loads(spec_text(200), "gen.yaml")
    _check_against_pairwise(state)


def test_a_generated_spec_is_valid_and_of_the_asked_shape():
    state = loads(spec_text(1000), "gen.yaml")
    from sipconf.checks import run_checks

    assert run_checks(state) == []
    assert (len(state.inbound), len(state.rules)) == (100, 200)
    assert sum(len(o.message.numbers) for o in state.inbound) == 1000
    kinds = {o.message.rule.WhichOneof("rule") for o in state.rules}
    assert kinds == {"dispatch_rule_individual", "dispatch_rule_callee"}
    for trunk in state.inbound:
        assert [a.startswith("127.") for a in trunk.message.allowed_addresses] == [True]
        assert dict(trunk.message.headers_to_attributes) == {"X-Customer-Tier": "customer.tier"}
