"""The internal outbound request (docs/livekit.md#outbound-request)."""

from __future__ import annotations

import random

import pytest
from google.protobuf.duration_pb2 import Duration
from livekit.protocol import sip

from sipconf.routing.errors import LiveKitError
from sipconf.outbound.participant import InternalRequest, new_create_sip_participant_request

REQUIRE, ALLOW, DISABLE = sip.SIP_MEDIA_ENCRYPT_REQUIRE, sip.SIP_MEDIA_ENCRYPT_ALLOW, sip.SIP_MEDIA_ENCRYPT_DISABLE


def trunk(**kw) -> sip.SIPOutboundTrunkInfo:
    kw.setdefault("sip_trunk_id", "ST_T")
    kw.setdefault("address", "sip.example.com")
    kw.setdefault("numbers", ["+1111"])
    return sip.SIPOutboundTrunkInfo(**kw)


def request(**kw) -> sip.CreateSIPParticipantRequest:
    kw.setdefault("sip_call_to", "+3333")
    kw.setdefault("room_name", "room")
    return sip.CreateSIPParticipantRequest(**kw)


def build(req, t, rng=None) -> InternalRequest:
    return new_create_sip_participant_request("p", "SCL_1", "from.example.com", "ws://x", "tok", req, t, rng)


def test_stored_trunk_fields():
    t = trunk(
        transport=sip.SIP_TRANSPORT_TCP, destination_country="US", auth_username="u", auth_password="pw",
        headers={"X-A": "1"}, headers_to_attributes={"X-H": "h"}, attributes_to_headers={"a": "X-A2"},
        include_headers=sip.SIP_X_HEADERS,
    )
    out = build(request(headers={"X-A": "2"}, participant_name="Bob"), t)
    assert (out.address, out.transport, out.destination_country, out.username, out.password) == (
        "sip.example.com", sip.SIP_TRANSPORT_TCP, "US", "u", "pw",
    )
    assert out.headers == {"X-A": "2"}
    assert out.headers_to_attributes == {"X-H": "h"} and out.attributes_to_headers == {"a": "X-A2"}
    assert out.include_headers == sip.SIP_X_HEADERS
    assert out.sip_trunk_id == "ST_T" and out.hostname == "from.example.com"
    assert out.participant_identity == "sip_+3333" and out.participant_name == "Bob"
    assert out.participant_attributes == {
        "sip.callID": "SCL_1", "sip.trunkID": "ST_T", "sip.phoneNumber": "+3333",
        "sip.hostname": "sip.example.com", "sip.trunkPhoneNumber": "+1111",
    }
    assert out.media == sip.SIPMediaConfig() and out.media_encryption == DISABLE


def test_request_overrides():
    req = request(
        sip_trunk_id="ST_R", sip_number="+4444", participant_identity="me", include_headers=sip.SIP_ALL_HEADERS,
        krisp_enabled=True, play_ringtone=True, ringing_timeout=Duration(seconds=5), display_name="",
        participant_attributes={"sip.callID": "spoof", "x": "y"}, hide_phone_number=True,
    )
    out = build(req, trunk(include_headers=sip.SIP_X_HEADERS))
    assert out.number == "+4444" and out.sip_trunk_id == "ST_R" and out.participant_identity == "me"
    assert out.include_headers == sip.SIP_ALL_HEADERS
    assert out.enabled_features == (sip.KRISP_ENABLED,) and out.play_dialtone
    assert out.participant_attributes == {"sip.callID": "SCL_1", "sip.trunkID": "ST_R", "x": "y"}
    assert out.display_name == ""
    assert out.to_json()["ringing_timeout"] == "5s"
    assert out.to_json()["display_name"] == "" and out.to_json()["enabled_features"] == ["KRISP_ENABLED"]


def test_inline_trunk_config():
    inline = sip.SIPOutboundConfig(
        hostname="h.example.com", transport=sip.SIP_TRANSPORT_UDP, auth_username="u", auth_password="p",
        headers_to_attributes={"X-H": "h"}, from_host="f.example.com",
    )
    out = build(request(trunk=inline, sip_number="555"), None)
    assert (out.address, out.transport, out.username, out.sip_trunk_id) == ("h.example.com", sip.SIP_TRANSPORT_UDP, "u", "")
    assert out.headers == {} and out.headers_to_attributes == {"X-H": "h"}
    assert out.participant_attributes["sip.trunkID"] == ""


def test_no_numbers():
    with pytest.raises(LiveKitError) as err:
        build(request(), trunk(numbers=[]))
    assert err.value == LiveKitError("failed_precondition", "no numbers on outbound trunk")


def test_random_caller_id_and_twilio_plus():
    numbers = ["111", "222", "333"]
    picked = {build(request(), trunk(numbers=numbers), random.Random(seed)).number for seed in range(20)}
    assert picked == set(numbers)
    out = build(request(), trunk(address="acme.pstn.twilio.com", numbers=["15550100"]))
    assert out.number == "+15550100" and out.participant_attributes["sip.trunkPhoneNumber"] == "+15550100"


def test_media_merge_never_downgrades():
    out = build(request(media=sip.SIPMediaConfig(encryption=DISABLE)), trunk(media_encryption=REQUIRE))
    assert out.media.encryption == REQUIRE and out.media_encryption == REQUIRE
    out = build(request(media_encryption=ALLOW), trunk())
    assert out.to_json()["media"] == {"encryption": "SIP_MEDIA_ENCRYPT_ALLOW"}
    assert out.to_json()["media_encryption"] == "SIP_MEDIA_ENCRYPT_ALLOW"


def test_to_json_omits_defaults():
    assert InternalRequest().to_json() == {}
    assert InternalRequest(media=sip.SIPMediaConfig()).to_json() == {"media": {}}
