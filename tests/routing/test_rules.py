"""Dispatch-rule validation (docs/livekit.md#rule-conflicts), priority and selection
(docs/livekit.md#rule-selection)."""

from __future__ import annotations

from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.rules import rule_priority, select_dispatch_rule, validate_rules
from tests.routing.rule_builders import callee, direct, individual


TRUNK = sip.SIPInboundTrunkInfo(sip_trunk_id="aaa", numbers=["+2"])
CALL = CallFacts(from_user="+1", to_user="+2")
CONFLICT = "Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists in dispatch rule "


def test_priorities():
    assert rule_priority(direct("a", pin="1", inbound_numbers=["+1"], numbers=["+2"])) == 0
    assert rule_priority(individual("a", inbound_numbers=["+1"], numbers=["+2"])) == 101
    assert rule_priority(callee("a")) == 2102
    assert rule_priority(callee("a", pin="1", numbers=["+2"])) == 1002


def test_validate_unset_oneof():
    err = validate_rules([sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="x")])
    assert (err.code, err.message) == ("invalid_argument", "unsupported SIP Dispatch Rule: <nil>")


def test_validate_conflict_names_earlier_with_blank_name():
    err = validate_rules([individual("rule_0", "pref_"), direct("rule_1")])
    assert err.message == CONFLICT + '"rule_0" "<blank name>"'


def test_validate_self_conflict_on_normalised_numbers():
    err = validate_rules([direct("", name="n", numbers=["+1 555", "1555"])])
    assert err.message == CONFLICT + '"<new>" "n"'


def test_validate_different_pins_or_trunks_are_fine():
    assert validate_rules([direct("a", pin="1"), direct("b", pin="2"), direct("c", trunk_ids=["t"])]) is None


def test_select_default_by_priority_then_room():
    rules = [individual("b", "zzz", inbound_numbers=["+1"]), individual("a", "aaa", numbers=["+2"]), callee("c")]
    assert select_dispatch_rule(rules, TRUNK, CALL).value.sip_dispatch_rule_id == "a"


def test_full_tie_keeps_earlier():
    # Same priority (1100) and room, distinct conflict keys.
    rules = [direct("first", "x", inbound_numbers=["+1"]), direct("second", "x", numbers=["+2"])]
    assert select_dispatch_rule(rules, None, CALL).value.sip_dispatch_rule_id == "first"
    assert select_dispatch_rule(rules[::-1], None, CALL).value.sip_dispatch_rule_id == "second"


def test_specific_beats_better_default():
    rules = [direct("r1", pin="1", inbound_numbers=["+1"], numbers=["+2"]), callee("r2", trunk_ids=["aaa"])]
    assert select_dispatch_rule(rules, TRUNK, CALL).value.sip_dispatch_rule_id == "r2"


def test_specific_rule_needs_a_matched_trunk():
    d = select_dispatch_rule([callee("r2", trunk_ids=["aaa"])], None, CALL)
    assert (d.error.code, d.error.message) == ("failed_precondition", "No SIP Dispatch Rules defined")
    assert "rule r2 skipped: no trunk matched" in d.trace


def test_rule_numbers_compare_exactly():
    d = select_dispatch_rule([direct("r", numbers=["2"])], TRUNK, CALL)
    assert d.error.message == "No SIP Dispatch Rules defined"


def test_pin_states():
    rules = [direct("open", "o"), direct("locked", "l", pin="123", numbers=["+2"])]
    assert select_dispatch_rule(rules, TRUNK, CALL).value.sip_dispatch_rule_id == "locked"
    assert select_dispatch_rule(rules, TRUNK, CALL.with_pin(no_pin=True)).value.sip_dispatch_rule_id == "open"
    assert select_dispatch_rule(rules, TRUNK, CALL.with_pin("123")).value.sip_dispatch_rule_id == "locked"
    assert select_dispatch_rule(rules, TRUNK, CALL.with_pin("999")).error.message == "No SIP Dispatch Rules defined"


def test_unrelated_conflict_aborts_selection():
    rules = [direct("a", trunk_ids=["other"]), direct("b", trunk_ids=["other"]), direct("c")]
    d = select_dispatch_rule(rules, TRUNK, CALL)
    assert d.value is None and d.error.message == CONFLICT + '"a" "<blank name>"'
