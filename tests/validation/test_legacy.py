"""Legacy trunk conversions (docs/livekit.md#trunks)."""

from __future__ import annotations

from livekit.protocol import sip

from sipconf.validation.legacy import (
    REGEX_REFUSED,
    inbound_to_legacy,
    legacy_create_problem,
    legacy_to_inbound,
    legacy_to_outbound,
    outbound_to_legacy,
    rule_from_create_request,
)

K = sip.SIPTrunkInfo


def test_inbound_round_trip_and_lost_fields():
    t = sip.SIPInboundTrunkInfo(
        sip_trunk_id="id", name="n", metadata="m", numbers=["+1"], allowed_addresses=["1.2.3.4"],
        allowed_numbers=["+2"], auth_username="u", auth_password="p",
    )
    legacy = inbound_to_legacy(t)
    assert legacy == K(
        sip_trunk_id="id", kind=K.TRUNK_INBOUND, name="n", metadata="m", outbound_number="+1",
        inbound_addresses=["1.2.3.4"], inbound_numbers=["+2"], inbound_username="u", inbound_password="p",
    )
    assert legacy_to_inbound(legacy) == t
    assert legacy_to_outbound(legacy) is None
    two = sip.SIPInboundTrunkInfo(numbers=["+1", "+3"], auth_realm="r")
    assert legacy_to_inbound(inbound_to_legacy(two)) == sip.SIPInboundTrunkInfo(numbers=["+1"])


def test_outbound_round_trip():
    t = sip.SIPOutboundTrunkInfo(
        sip_trunk_id="id", name="n", metadata="m", address="a.example.com", transport=sip.SIP_TRANSPORT_TLS,
        numbers=["+1"], auth_username="u", auth_password="p",
    )
    legacy = outbound_to_legacy(t)
    assert legacy == K(
        sip_trunk_id="id", kind=K.TRUNK_OUTBOUND, name="n", metadata="m", outbound_address="a.example.com",
        transport=sip.SIP_TRANSPORT_TLS, outbound_number="+1", outbound_username="u", outbound_password="p",
    )
    assert legacy_to_outbound(legacy) == t
    assert legacy_to_inbound(legacy) is None


def test_legacy_kind_has_both_halves_and_regex_dropped():
    legacy = K(outbound_number="", inbound_numbers_regex=["^1"], inbound_numbers=["+5"], outbound_address="h")
    assert legacy_to_inbound(legacy) == sip.SIPInboundTrunkInfo(allowed_numbers=["+5"])
    assert legacy_to_outbound(legacy) == sip.SIPOutboundTrunkInfo(address="h")


def test_regex_create_refused():
    assert REGEX_REFUSED == "Trunks with InboundNumbersRegex are deprecated. Use InboundNumbers instead."
    assert legacy_create_problem(sip.CreateSIPTrunkRequest(inbound_numbers_regex=["x"])) == REGEX_REFUSED
    assert legacy_create_problem(sip.CreateSIPTrunkRequest()) is None


def test_rule_from_legacy_create_fields():
    rule = sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="r"))
    req = sip.CreateSIPDispatchRuleRequest(
        rule=rule, trunk_ids=["T"], inbound_numbers=["+1"], hide_phone_number=True, name="n",
        metadata="m", attributes={"a": "b"}, room_preset="p",
    )
    assert rule_from_create_request(req) == sip.SIPDispatchRuleInfo(
        rule=rule, trunk_ids=["T"], inbound_numbers=["+1"], hide_phone_number=True, name="n",
        metadata="m", attributes={"a": "b"}, room_preset="p",
    )
    info = sip.SIPDispatchRuleInfo(rule=rule, name="x")
    assert rule_from_create_request(sip.CreateSIPDispatchRuleRequest(dispatch_rule=info, name="ignored")) == info
