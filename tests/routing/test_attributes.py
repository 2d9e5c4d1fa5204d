"""The SIP service's attribute overlay and attributes_to_headers (docs/livekit.md#attributes and
#rule-evaluation)."""

from __future__ import annotations

from livekit.protocol import sip

from sipconf.routing.attributes import headers_from_attributes, sip_attributes

HEADERS = (
    ("X-Tier", "gold"),
    ("x-tier", "silver"),
    ("Via", "SIP/2.0/UDP 1.2.3.4"),
    ("X-Twilio-CallSid", "CA1"),
    ("X-Lk-Test-Id", "t1"),
)


def overlay(trunk, base=None, headers=HEADERS):
    return sip_attributes(base or {}, trunk, headers, from_tag="ft", call_id_full="cid@h", call_status="ringing")


def test_x_headers_last_wins_and_provider_mappings():
    trunk = sip.SIPInboundTrunkInfo(include_headers=sip.SIP_X_HEADERS)
    assert overlay(trunk) == {
        "sip.h.x-tier": "silver",
        "sip.h.x-twilio-callsid": "CA1",
        "sip.h.x-lk-test-id": "t1",
        "sip.twilio.callSid": "CA1",
        "lktest.id": "t1",
        "sip.callTag": "ft",
        "sip.callIDFull": "cid@h",
        "sip.callStatus": "ringing",
    }


def test_all_headers_and_none():
    assert overlay(sip.SIPInboundTrunkInfo(include_headers=sip.SIP_ALL_HEADERS))["sip.h.via"] == "SIP/2.0/UDP 1.2.3.4"
    assert not any(k.startswith("sip.h.") for k in overlay(sip.SIPInboundTrunkInfo()))


def test_headers_to_attributes_first_header_case_insensitive_and_overwrites_rule_values():
    trunk = sip.SIPInboundTrunkInfo(headers_to_attributes={"X-TIER": "sip.phoneNumber", "X-Twilio-CallSid": "lktest.id"})
    out = overlay(trunk, base={"sip.phoneNumber": "+1"})
    assert out["sip.phoneNumber"] == "gold"
    # Provider mappings are applied again afterwards, so they win over a mapping target.
    assert out["lktest.id"] == "t1"


def test_fixed_attributes_win_over_mappings():
    trunk = sip.SIPInboundTrunkInfo(headers_to_attributes={"X-Tier": "sip.callTag"})
    assert overlay(trunk)["sip.callTag"] == "ft"


def test_no_trunk_only_fixed_overlay():
    assert overlay(None, headers=()) == {"sip.callTag": "ft", "sip.callIDFull": "cid@h", "sip.callStatus": "ringing"}


def test_headers_from_attributes_only_present():
    assert headers_from_attributes({"a": "X-A", "b": "X-B"}, {"a": "1"}) == {"X-A": "1"}
