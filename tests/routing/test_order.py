"""Why one dispatch rule beats another: each step of LiveKit's order
(docs/livekit.md#rule-selection) named by the rule pair it decides, and the runner-up found by
asking the engine without the winner."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.order import ONLY_RULE, beats, precedence
from sipconf.routing.rules import rule_priority, select_dispatch_rule
from tests.routing.rule_builders import callee, direct, individual

TRUNK = sip.SIPInboundTrunkInfo(sip_trunk_id="ST_main", numbers=["+2"])
CALL = CallFacts(from_user="+1", to_user="+2")


# One pair of rules per step of the order, the winner first (docs/routing.md quotes these reasons).
STEPS = [
    (direct("w", trunk_ids=["ST_main"]), direct("l", pin="1", numbers=["+2"], inbound_numbers=["+1"]),
     "a rule naming the call's trunk beats a rule for every trunk"),
    (direct("w", numbers=["+2"]), direct("l", pin="1"),
     "a rule listing the called number beats a rule for any called number and caller"),
    (individual("w", numbers=["+2"], inbound_numbers=["+1"]), direct("l", pin="1", inbound_numbers=["+1"]),
     "a rule listing the called number and the caller beats a rule listing the caller"),
    (direct("w", pin="1", inbound_numbers=["+1"]), direct("l", numbers=["+2"]),
     "a rule with a PIN beats a rule without one"),
    (individual("w", "z"), callee("l", "a"),
     "an individual rule beats a callee rule (direct, then individual, then callee)"),
    (direct("w", "z"), individual("l", "a"),
     "a direct rule beats an individual rule (direct, then individual, then callee)"),
    (direct("w", "a"), direct("l", "b"),
     'at equal priority the smaller room name wins ("a" before "b")'),
    (direct("w", "same"), direct("l", "same"),
     "a full tie: the rule listed first wins (LiveKit lists rules by id)"),
]


@pytest.mark.parametrize(("winner", "loser", "reason"), STEPS)
def test_each_step_of_the_order_is_named(winner, loser, reason):
    assert beats(winner, loser, "ST_main") == reason


def test_precedence_names_the_runner_up_the_engine_would_choose():
    rules = [direct("everyone", "lobby"), individual("support", "support", trunk_ids=["ST_main"], numbers=["+2"])]
    why = precedence(rules, TRUNK, CALL, rules[1])
    assert (why.rule.sip_dispatch_rule_id, why.runner_up.sip_dispatch_rule_id) == ("support", "everyone")
    assert why.reason == "a rule naming the call's trunk beats a rule for every trunk"


def test_the_only_candidate_says_so():
    rules = [direct("solo", trunk_ids=["ST_main"]), direct("elsewhere", numbers=["+9"])]
    why = precedence(rules, TRUNK, CALL, rules[0])
    assert (why.runner_up, why.reason) == (None, ONLY_RULE)


def test_a_rule_the_engine_does_not_choose_has_no_precedence():
    rules = [direct("a", "a"), direct("b", "b")]
    assert precedence(rules, TRUNK, CALL, rules[1]) is None


def test_rules_of_other_trunks_are_left_out_so_their_conflict_hides_nothing():
    clash = [direct("x1", trunk_ids=["ST_other"]), direct("x2", trunk_ids=["ST_other"])]  # same key: a conflict
    mine = direct("mine", trunk_ids=["ST_main"])
    assert precedence(clash + [mine], TRUNK, CALL, mine).reason == ONLY_RULE


RULE_KINDS = (direct, individual, callee)


@st.composite
def rules(draw):
    kind = draw(st.sampled_from(RULE_KINDS))
    rid = draw(st.text("abc", min_size=1, max_size=3))
    kw = {}
    if draw(st.booleans()):
        kw["trunk_ids"] = ["ST_main"]
    if draw(st.booleans()):
        kw["numbers"] = ["+2"]
    if draw(st.booleans()):
        kw["inbound_numbers"] = ["+1"]
    return kind(rid, draw(st.sampled_from("ab")), pin=draw(st.sampled_from(["", "1"])), **kw)


@settings(max_examples=200, deadline=None)
@given(rules(), rules())
def test_the_named_step_agrees_with_the_engine(a, b):
    """Whichever of two rules the engine chooses, the reason names a step where that rule
    really is ahead: the trunk, then the priority's terms, then the room."""
    listed = [a, b]
    chosen = select_dispatch_rule(listed, TRUNK, CALL, with_trace=False).value
    assume(chosen is not None)  # two rules of one key conflict: no rule is chosen at all
    other = b if chosen is a else a
    reason = beats(chosen, other, "ST_main")
    if reason.startswith("a rule naming the call's trunk"):
        assert "ST_main" in chosen.trunk_ids and "ST_main" not in other.trunk_ids
    elif reason.startswith(("a rule listing", "a rule with a PIN", "a direct", "an individual")):
        assert rule_priority(chosen) < rule_priority(other)
    elif reason.startswith("at equal priority"):
        assert rule_priority(chosen) == rule_priority(other)
    else:
        assert reason.startswith("a full tie") and chosen is a
