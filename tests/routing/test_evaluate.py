"""Rule evaluation (docs/livekit.md#rule-evaluation) and media merge use
(docs/livekit.md#media-merge)."""

from __future__ import annotations

import random
import re

from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.evaluate import evaluate_dispatch_rule, evaluation_to_dict
from sipconf.routing.ids import ALPHABET

CALL = CallFacts(from_user="+15551234567", to_user="+3333", from_host="h", sip_call_id="SCL_x")
TRUNK = sip.SIPInboundTrunkInfo(sip_trunk_id="T")


def rule(**kw):
    out = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="R")
    for path, value in kw.items():
        kind, field = path.split("__")
        setattr(getattr(out.rule, f"dispatch_rule_{kind}"), field, value)
    return out


def test_no_rule_is_a_plain_error():
    d = evaluate_dispatch_rule("p", TRUNK, None, CALL)
    assert (d.error.code, d.error.message) == ("", "no dispatch rule")


def test_unset_oneof():
    d = evaluate_dispatch_rule("p", TRUNK, sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="R"), CALL)
    assert (d.error.code, d.error.message) == ("invalid_argument", "unsupported SIP Dispatch Rule: <nil>")


def test_individual_without_prefix_random_suffix():
    d = evaluate_dispatch_rule("p", TRUNK, rule(individual__room_prefix=""), CALL, random.Random(3))
    assert re.fullmatch(rf"\+15551234567_[{ALPHABET}]{{12}}", d.value.room_name)
    assert d.value.room_name_random


def test_callee_is_never_masked():
    r = rule(callee__room_prefix="c")
    r.hide_phone_number = True
    d = evaluate_dispatch_rule("p", TRUNK, r, CALL)
    assert d.value.room_name == "c_+3333"
    assert d.value.participant_name == "Phone 4567"


def test_request_pin_carries_only_routing_fields():
    r = rule(direct__room_name="room", direct__pin="1")
    r.metadata = "m"
    d = evaluate_dispatch_rule("p", TRUNK, r, CALL)
    assert evaluation_to_dict(d.value) == {
        "result": "REQUEST_PIN", "project_id": "p", "sip_trunk_id": "T", "sip_dispatch_rule_id": "R",
        "request_pin": True, "media": {},
    }


def test_wrong_pin():
    d = evaluate_dispatch_rule("p", TRUNK, rule(direct__room_name="room", direct__pin="1"), CALL.with_pin("2"))
    assert (d.error.code, d.error.message) == ("permission_denied", "Incorrect PIN for SIP room")


def test_no_trunk_uses_request_trunk_id_and_omits_trunk_fields():
    call = CallFacts(from_user="+1", to_user="+2", sip_trunk_id="ST_req")
    d = evaluate_dispatch_rule("", None, rule(direct__room_name="r"), call)
    assert d.value.sip_trunk_id == "ST_req"
    assert d.value.participant_attributes["sip.trunkID"] == "ST_req"
    assert d.value.ringing_timeout is None and d.value.headers == {}


def test_rule_krisp_and_explicit_disable_never_downgrades():
    trunk = sip.SIPInboundTrunkInfo(sip_trunk_id="T", media_encryption=sip.SIP_MEDIA_ENCRYPT_REQUIRE)
    r = rule(direct__room_name="r")
    r.krisp_enabled = True
    r.media.encryption = sip.SIP_MEDIA_ENCRYPT_DISABLE
    out = evaluation_to_dict(evaluate_dispatch_rule("", trunk, r, CALL).value)
    assert out["media_encryption"] == "SIP_MEDIA_ENCRYPT_REQUIRE"
    assert out["enabled_features"] == ["KRISP_ENABLED"]


def test_hidden_number_with_empty_caller_is_refused():
    r = rule(direct__room_name="r")
    r.hide_phone_number = True
    d = evaluate_dispatch_rule("", TRUNK, r, CallFacts(from_user="", to_user="+2"))
    assert d.error.message == "hide_phone_number with an empty caller"


def test_same_seed_same_room():
    r = rule(individual__room_prefix="p")
    a = evaluate_dispatch_rule("", TRUNK, r, CALL, random.Random(7)).value.room_name
    b = evaluate_dispatch_rule("", TRUNK, r, CALL, random.Random(7)).value.room_name
    assert a == b
