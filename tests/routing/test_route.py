"""The routing entry points in both modes: the auth step, dispatch, and both together."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies
from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.route import AuthStep, Mode, auth_refusal, authenticate, dispatch, route
from tests.routing.rule_builders import direct

CALL = CallFacts(
    from_user="+15550001", to_user="+15105550100", src_ip="127.0.0.1", from_host="127.0.0.1",
    sip_call_id="SCL_test", call_id_full="abc@127.0.0.1", from_tag="ft", headers=(("X-Tier", "gold"),),
)


def trunk(tid, numbers=("+15105550100",), **kw):
    return sip.SIPInboundTrunkInfo(sip_trunk_id=tid, numbers=numbers, **kw)


def individual(rid, prefix="p", **kw):
    rule = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=rid, **kw)
    rule.rule.dispatch_rule_individual.room_prefix = prefix
    return rule


def outcome(d):
    o = d.value
    return o.action, o.status, o.reason


def test_authenticate_password_default_realm():
    d = authenticate([trunk("ST_a", auth_username="u", auth_password="pw")], CALL, Mode.EXPLICIT)
    step = d.value
    assert (step.result, step.username, step.password, step.realm) == ("password", "u", "pw", "LiveKit")


def test_authenticate_only_username_needs_no_auth():
    assert authenticate([trunk("ST_a", auth_username="u")], CALL, Mode.EXPLICIT).value.result == "accept"


def test_auth_answers_that_end_the_call():
    ended = {result: auth_refusal(AuthStep(result)) for result in
             ("error", "drop", "not_found", "quota_exceeded", "no_trunk_found")}
    assert {result: (o.action, o.status, o.reason) for result, o in ended.items()} == {
        "error": ("error", 503, "Try again later"),
        "drop": ("drop", None, ""),
        "not_found": ("reject", 404, "Does not match any SIP Trunks"),
        "quota_exceeded": ("reject", 503, "Service temporarily unavailable"),
        "no_trunk_found": ("reject", 404, "No trunk found"),
    }


def test_auth_answers_that_go_on():
    # `password` goes on to the digest handshake, `accept` to dispatch.
    assert auth_refusal(AuthStep("accept")) is None
    assert auth_refusal(AuthStep("password", username="u", password="pw")) is None


def test_no_trunk_explicit_404_and_no_rule_tried():
    d = route([trunk("ST_a", numbers=["+1"])], [direct("SDR_1")], CALL, Mode.EXPLICIT)
    assert outcome(d) == ("reject", 404, "No trunk found")
    assert not any("rule" in line for line in d.trace)


def test_no_trunk_oss_goes_on_without_trunk():
    d = route([trunk("ST_a", numbers=["+1"])], [direct("SDR_1"), direct("SDR_2", trunk_ids=["ST_a"], room="x")],
              CALL, Mode.OSS)
    assert outcome(d) == ("accept", 200, "OK")
    assert d.value.rule.sip_dispatch_rule_id == "SDR_1"
    assert d.value.evaluation.sip_trunk_id == ""


def test_no_rule_explicit_404_oss_drop():
    rules = [direct("SDR_1", numbers=["+9"])]
    assert outcome(route([trunk("ST_a")], rules, CALL, Mode.EXPLICIT)) == (
        "reject", 404, "Does not match Trunks or Dispatch Rules")
    assert outcome(route([trunk("ST_a")], rules, CALL, Mode.OSS)) == ("drop", None, "")


def test_conflicts_are_503_in_both_modes():
    for mode in Mode:
        d = route([trunk("ST_a"), trunk("ST_b")], [direct("SDR_1")], CALL, mode)
        assert outcome(d) == ("error", 503, "Try again later")
        assert d.error.message == 'Multiple SIP Trunks matched for "+15105550100"'
        d = route([trunk("ST_a")], [direct("SDR_1"), direct("SDR_2")], CALL, mode)
        assert outcome(d) == ("error", 503, "Try again later")
        assert d.error.code == "invalid_argument"


def test_rules_of_other_trunks_are_not_candidates():
    rules = [direct("SDR_x1", trunk_ids=["ST_other"]), direct("SDR_x2", trunk_ids=["ST_other"]), direct("SDR_ok")]
    assert route([trunk("ST_a")], rules, CALL, Mode.EXPLICIT).value.action == "accept"


def test_challenge_then_accept_with_overlay():
    t = trunk("ST_a", auth_username="u", auth_password="pw", headers_to_attributes={"X-Tier": "tier"})
    assert outcome(route([t], [individual("SDR_1")], CALL, Mode.EXPLICIT)) == ("challenge", 407, "Unauthorized")
    d = route([t], [individual("SDR_1")], CALL, Mode.EXPLICIT, authenticated=True, rng=random.Random(1))
    attrs = d.value.attributes
    assert (attrs["tier"], attrs["sip.callStatus"], attrs["sip.callTag"], attrs["sip.ruleID"]) == (
        "gold", "ringing", "ft", "SDR_1")


def test_pin_flow():
    rules = [direct("SDR_pin", room="vip", pin="4321")]
    first = route([trunk("ST_a")], rules, CALL, Mode.EXPLICIT)
    assert outcome(first) == ("request_pin", 200, "OK")
    ok = dispatch([trunk("ST_a")], rules, CALL.with_pin("4321"), Mode.EXPLICIT, trunk_id_hint="ST_a")
    assert ok.value.evaluation.room_name == "vip" and ok.value.attributes["sip.callStatus"] == "active"
    wrong = dispatch([trunk("ST_a")], rules, CALL.with_pin("1"), Mode.EXPLICIT, trunk_id_hint="ST_a")
    assert (wrong.value.action, wrong.value.status) == ("error", None)
    assert (wrong.error.code, wrong.error.message) == ("permission_denied", "Incorrect PIN for SIP room")
    dropped = dispatch([trunk("ST_a")], rules, CALL.with_pin("1"), Mode.OSS, trunk_id_hint="ST_a")
    assert (dropped.value.action, dropped.value.status) == ("drop", None)
    assert dropped.trace[-1] == "the wrong-PIN prompt plays and LiveKit hangs up (BYE)"


def test_hint_is_tried_first():
    trunks = [trunk("ST_a", numbers=["+1"])]
    d = dispatch(trunks, [direct("SDR_1")], CALL, Mode.EXPLICIT, trunk_id_hint="ST_a")
    assert d.value.trunk.sip_trunk_id == "ST_a" and d.trace[0] == "trunk ST_a from the auth step"


def test_unparseable_source_ip_is_an_error():
    d = dispatch([trunk("ST_a")], [direct("SDR_1")], CallFacts("+1", "+15105550100", src_ip="1.2.3"), Mode.OSS)
    assert outcome(d) == ("error", 503, "Try again later") and d.error.code == "invalid_argument"


def test_trace_reads_as_steps():
    d = route([trunk("ST_a", allowed_numbers=["+2"]), trunk("ST_b", numbers=())], [individual("SDR_1")], CALL, Mode.EXPLICIT,
              rng=random.Random(0))
    assert d.trace[:3] == (
        "call from +15550001 to +15105550100 (source 127.0.0.1, host 127.0.0.1)",
        "trunk ST_a dropped: caller +15550001 not in allowed_numbers",
        "trunk ST_b kept as a default trunk (no numbers)",
    )


numbers = strategies.sampled_from(["+1", "+2", "1", "+1 (2)", "user"])


@settings(max_examples=60, deadline=None)
@given(
    seed=strategies.integers(0, 2**32),
    to=numbers,
    caller=numbers,
    trunk_numbers=strategies.lists(strategies.lists(numbers, max_size=2), max_size=3),
    prefixes=strategies.lists(strategies.sampled_from(["", "a", "b"]), max_size=3),
    mode=strategies.sampled_from(list(Mode)),
)
def test_routing_is_deterministic_given_the_seed(seed, to, caller, trunk_numbers, prefixes, mode):
    trunks = [trunk(f"ST_{i}", numbers=n) for i, n in enumerate(trunk_numbers)]
    rules = [individual(f"SDR_{i}", p, inbound_numbers=[caller] if i % 2 else []) for i, p in enumerate(prefixes)]
    call = CallFacts(from_user=caller, to_user=to)
    a = route(trunks, rules, call, mode, rng=random.Random(seed))
    b = route(trunks, rules, call, mode, rng=random.Random(seed))
    assert a == b
