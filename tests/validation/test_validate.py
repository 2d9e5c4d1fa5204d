"""Create/update-time validation of every object type (docs/livekit.md#validate-objects,
#validate-media and #outbound-validation), verbatim."""

from __future__ import annotations

import pytest
from google.protobuf.duration_pb2 import Duration
from livekit.protocol import sip

from sipconf.validation.result import Validation
from sipconf.validation.validate import list_update_problem, media_problem, validate
from livekit.protocol.models import ListUpdate


def message(result: Validation) -> str | None:
    return None if result.error is None else result.error.message


def inbound(**kw) -> sip.SIPInboundTrunkInfo:
    kw.setdefault("numbers", ["+1555"])
    return sip.SIPInboundTrunkInfo(**kw)


def outbound(**kw) -> sip.SIPOutboundTrunkInfo:
    kw.setdefault("numbers", ["+1555"])
    kw.setdefault("address", "sip.example.com")
    return sip.SIPOutboundTrunkInfo(**kw)


def participant(**kw) -> sip.CreateSIPParticipantRequest:
    kw.setdefault("sip_trunk_id", "ST_1")
    kw.setdefault("sip_call_to", "+1000")
    kw.setdefault("room_name", "room")
    return sip.CreateSIPParticipantRequest(**kw)


def test_validation_ok_property():
    assert Validation().ok
    assert not validate(sip.SIPInboundTrunkInfo()).ok


def test_unknown_type_is_a_programming_error():
    with pytest.raises(TypeError, match="no LiveKit validation for Room"):
        from livekit.protocol.models import Room

        validate(Room())


# --- media (docs/livekit.md#validate-media)


@pytest.mark.parametrize(
    "media, problem",
    [
        (sip.SIPMediaConfig(codecs=[sip.SIPCodec(name="")]), "missing codec name"),
        (sip.SIPMediaConfig(codecs=[sip.SIPCodec(name="PCMU 8000")]), "invalid codec name"),
        (sip.SIPMediaConfig(codecs=[sip.SIPCodec(name="PCMU\t")]), "invalid codec name"),
        (sip.SIPMediaConfig(codecs=[sip.SIPCodec(name="PCMU/8000")]), "codec name must not contain '/'"),
        (sip.SIPMediaConfig(media_timeout=Duration(seconds=-1)), "media_timeout must not be negative"),
        (sip.SIPMediaConfig(media_timeout=Duration(nanos=-1)), "media_timeout must not be negative"),
        (sip.SIPMediaConfig(media_timeout=Duration(seconds=600, nanos=1)), "media_timeout must not exceed 10m0s"),
        (sip.SIPMediaConfig(media_timeout=Duration(seconds=600)), None),
        (sip.SIPMediaConfig(media_timeout=Duration()), None),
        (None, None),
    ],
)
def test_media(media, problem):
    assert media_problem(media) == problem
    if media is not None:
        assert message(validate(media)) == problem


# --- list updates (docs/livekit.md#list-update)


@pytest.mark.parametrize(
    "update, problem",
    [
        (ListUpdate(), "unsupported list update operation"),
        (ListUpdate(clear=True, add=["a"]), "cannot clear and change the list at the same time"),
        (ListUpdate(set=["a"], remove=["b"]), "cannot set and change the list at the same time"),
        (ListUpdate(add=["a", ""]), "empty element in the list"),
        (ListUpdate(clear=True), None),
        (ListUpdate(add=["a"], remove=["b"]), None),
        (None, None),
    ],
)
def test_list_update(update, problem):
    assert list_update_problem(update) == problem


# --- inbound trunks


def test_inbound_security():
    assert message(validate(sip.SIPInboundTrunkInfo())) == (
        "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers"
    )
    assert validate(sip.SIPInboundTrunkInfo(auth_username="u")).ok
    assert validate(sip.SIPInboundTrunkInfo(allowed_addresses=["10.0.0.1"])).ok


@pytest.mark.parametrize(
    "kw, problem",
    [
        ({"media": sip.SIPMediaConfig(codecs=[sip.SIPCodec()])}, "missing codec name"),
        ({"headers": {"From": "x"}}, "invalid header name: header name From not supported"),
        ({"attributes_to_headers": {"a": "X Y"}}, "invalid header name: header name X Y contains invalid characters: char 32 not allowed"),
        ({"headers_to_attributes": {"": "a"}}, "invalid header name: header name cannot be empty"),
        ({"headers_to_attributes": {"From": "a"}, "attributes_to_headers": {"a": "Contact"}}, None),
    ],
)
def test_inbound_fields(kw, problem):
    assert message(validate(inbound(**kw))) == problem


def test_inbound_soft_errors():
    result = validate(inbound(headers={"Referred-By": "<sip:a@b"}))
    assert result.ok and result.soft == ("header Referred-By: value: mismatched angle brackets",)


# --- outbound trunks and inline configs


@pytest.mark.parametrize(
    "kw, problem",
    [
        ({"numbers": []}, "no trunk numbers specified"),
        ({"address": ""}, "no outbound address specified"),
        ({"address": "sip.example.com;transport=tcp"}, "trunk address should not contain transport parameter"),
        ({"address": "sip:sip.example.com"}, "trunk address should be a hostname or IP, not SIP URI"),
        ({"from_host": "a@b"}, "from_host should be a hostname or IP, not SIP URI"),
        ({"headers": {"CSeq": "1"}}, "invalid header name: header name CSeq not supported"),
        ({"headers_to_attributes": {"X(": "a"}}, "invalid header name: header name X( contains invalid characters: char 40 not allowed"),
        ({"media": sip.SIPMediaConfig(media_timeout=Duration(seconds=-5))}, "media_timeout must not be negative"),
        ({"address": "10.0.0.1:5060", "from_host": "example.com"}, None),
    ],
)
def test_outbound(kw, problem):
    assert message(validate(outbound(**kw))) == problem


@pytest.mark.parametrize(
    "kw, problem",
    [
        ({}, "no outbound hostname specified"),
        ({"hostname": "h;transport=udp"}, "trunk hostname should not contain transport parameter"),
        ({"hostname": "h", "from_host": "sips:x"}, "from_host should be a hostname or IP, not SIP URI"),
        ({"hostname": "h", "attributes_to_headers": {"a": ""}}, "invalid header name: header name cannot be empty"),
        ({"hostname": "h"}, None),
    ],
)
def test_outbound_config(kw, problem):
    assert message(validate(sip.SIPOutboundConfig(**kw))) == problem


# --- create / update trunk requests


def test_create_trunk_requests():
    for cls, good in ((sip.CreateSIPInboundTrunkRequest, inbound()), (sip.CreateSIPOutboundTrunkRequest, outbound())):
        assert message(validate(cls())) == "missing trunk"
        bad = type(good)()
        bad.CopyFrom(good)
        bad.sip_trunk_id = "ST_x"
        assert message(validate(cls(trunk=bad))) == "trunk id must not be set"
        assert validate(cls(trunk=good)).ok
    assert message(validate(sip.CreateSIPOutboundTrunkRequest(trunk=outbound(numbers=[])))) == "no trunk numbers specified"


def test_update_inbound_trunk_request():
    U = sip.UpdateSIPInboundTrunkRequest
    assert message(validate(U(update=sip.SIPInboundTrunkUpdate()))) == "trunk id must be set"
    assert message(validate(U(sip_trunk_id="ST_1"))) == "missing or unsupported update action"
    assert message(validate(U(sip_trunk_id="ST_1", replace=inbound(sip_trunk_id="ST_2")))) == (
        "trunk id in the info must be empty or match the id in the update"
    )
    assert validate(U(sip_trunk_id="ST_1", replace=inbound(sip_trunk_id="ST_1"))).ok
    assert message(validate(U(sip_trunk_id="ST_1", replace=sip.SIPInboundTrunkInfo()))).startswith("for security")
    bad_list = sip.SIPInboundTrunkUpdate(allowed_numbers=ListUpdate())
    assert message(validate(U(sip_trunk_id="ST_1", update=bad_list))) == "unsupported list update operation"
    bad_media = sip.SIPInboundTrunkUpdate(media=sip.SIPMediaConfig(codecs=[sip.SIPCodec(name="a/b")]))
    assert message(validate(U(sip_trunk_id="ST_1", update=bad_media))) == "codec name must not contain '/'"


def test_update_outbound_trunk_request():
    U = sip.UpdateSIPOutboundTrunkRequest
    assert message(validate(U())) == "trunk id must be set"
    assert message(validate(U(sip_trunk_id="ST_1"))) == "missing or unsupported update action"
    bad_list = sip.SIPOutboundTrunkUpdate(numbers=ListUpdate(set=[""]))
    assert message(validate(U(sip_trunk_id="ST_1", update=bad_list))) == "empty element in the list"
    assert message(validate(U(sip_trunk_id="ST_1", replace=outbound(address="")))) == "no outbound address specified"


def test_update_soft_errors_come_from_the_replacement():
    U = sip.UpdateSIPOutboundTrunkRequest
    result = validate(U(sip_trunk_id="ST_1", replace=outbound(headers={"Via": "x"})))
    assert result.ok and result.soft == ("header Via is not supported and will be rejected in a future release",)


# --- dispatch rules

DIRECT = sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="r"))


def test_dispatch_rule_info():
    assert message(validate(sip.SIPDispatchRuleInfo())) == "missing rule"
    assert validate(sip.SIPDispatchRuleInfo(rule=sip.SIPDispatchRule())).ok  # refused later (docs/livekit.md#rule-conflicts)
    bad = sip.SIPDispatchRuleInfo(rule=DIRECT, media=sip.SIPMediaConfig(media_timeout=Duration(seconds=601)))
    assert message(validate(bad)) == "media_timeout must not exceed 10m0s"


def test_create_dispatch_rule_request():
    C = sip.CreateSIPDispatchRuleRequest
    assert message(validate(C())) == "missing rule"  # legacy top-level fields, no rule
    assert validate(C(rule=DIRECT, trunk_ids=["ST_1"])).ok
    assert message(validate(C(dispatch_rule=sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_1", rule=DIRECT)))) == (
        "rule id must not be set"
    )
    assert message(validate(C(dispatch_rule=sip.SIPDispatchRuleInfo()))) == "missing rule"


def test_update_dispatch_rule_request():
    U = sip.UpdateSIPDispatchRuleRequest
    assert message(validate(U(update=sip.SIPDispatchRuleUpdate()))) == "rule id must be set"
    assert message(validate(U(sip_dispatch_rule_id="SDR_1"))) == "missing or unsupported update action"
    mismatch = U(sip_dispatch_rule_id="SDR_1", replace=sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_2", rule=DIRECT))
    assert message(validate(mismatch)) == "rule id in the info must be empty or match the id in the update"
    assert message(validate(U(sip_dispatch_rule_id="SDR_1", replace=sip.SIPDispatchRuleInfo()))) == "missing rule"
    clear_and_add = sip.SIPDispatchRuleUpdate(trunk_ids=ListUpdate(clear=True, add=["a"]))
    assert message(validate(U(sip_dispatch_rule_id="SDR_1", update=clear_and_add))) == (
        "cannot clear and change the list at the same time"
    )


def test_rules_never_report_soft_errors():
    assert validate(sip.CreateSIPDispatchRuleRequest(rule=DIRECT)).soft == ()


# --- CreateSIPParticipantRequest (docs/livekit.md#outbound-validation)


@pytest.mark.parametrize(
    "kw, problem",
    [
        ({"sip_trunk_id": ""}, "missing sip trunk id and sip number"),
        ({"sip_trunk_id": "", "trunk": sip.SIPOutboundConfig()}, "no outbound hostname specified"),
        ({"sip_trunk_id": "", "trunk": sip.SIPOutboundConfig(hostname="h@x")}, "trunk hostname should be a hostname or IP, not SIP URI"),
        ({"sip_call_to": ""}, "missing sip callee number"),
        ({"sip_call_to": "a@b"}, "SipCallTo should be a phone number or SIP user, not a full SIP URI"),
        ({"to_user_override": "u@h"}, "ToUserOverride should be a phone number or SIP user, not a full SIP URI"),
        ({"to_user_override": "a b"}, "ToUserOverride contains invalid characters: char 32 not allowed"),
        ({"room_name": ""}, "missing room name"),
        ({"display_name": "x" * 129}, "DisplayName too long (max 128 characters)"),
        ({"display_name": 'a"b'}, "DisplayName must be a valid quoted string: invalid syntax"),
        ({"display_name": "a\\qb"}, "DisplayName must be a valid quoted string: invalid syntax"),
        ({"destination": sip.Destination(city="Paris")}, "if city is specified, country or region must also be specified"),
        ({"destination": sip.Destination(country="us")}, "country must be a valid ISO 3166-1 alpha-2 code (2-letter like 'US', 'IN', 'UK')"),
        ({"headers": {"Max-Forwards": "3"}}, "invalid header name: header name Max-Forwards not supported"),
        ({"media": sip.SIPMediaConfig(media_timeout=Duration(seconds=1200))}, "media_timeout must not exceed 10m0s"),
        ({"sip_trunk_id": "", "sip_number": "+1"}, None),
        ({"display_name": ""}, None),
        ({"display_name": 'Bob \\"B\\"'}, None),
        ({"to_user_override": "+1-555"}, None),
    ],
)
def test_participant(kw, problem):
    assert message(validate(participant(**kw))) == problem


def test_participant_to_header_warns():
    result = validate(participant(headers={"To": "<sip:+2000@example.com>"}))
    assert result.ok and len(result.soft) == 1


def test_legacy_trunk_create_refused_with_regex():
    assert message(validate(sip.CreateSIPTrunkRequest(inbound_numbers_regex=["^1"]))) == (
        "Trunks with InboundNumbersRegex are deprecated. Use InboundNumbers instead."
    )
    assert validate(sip.CreateSIPTrunkRequest(inbound_numbers=["+1"])).ok
