"""ListUpdate and partial updates (docs/livekit.md#list-update and #partial-updates)."""

from __future__ import annotations

import pytest
from google.protobuf.duration_pb2 import Duration
from livekit.protocol import sip
from livekit.protocol.models import ListUpdate

from sipconf.routing.errors import LiveKitError
from sipconf.validation.updates import (
    apply_dispatch_rule_update,
    apply_inbound_trunk_update,
    apply_list_update,
    apply_outbound_trunk_update,
)

REQUIRE, ALLOW, DISABLE = sip.SIP_MEDIA_ENCRYPT_REQUIRE, sip.SIP_MEDIA_ENCRYPT_ALLOW, sip.SIP_MEDIA_ENCRYPT_DISABLE
DIRECT = sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="r"))


def test_list_update_apply():
    assert apply_list_update(["a", "b"], None) == ["a", "b"]
    assert apply_list_update(["a", "b"], ListUpdate(clear=True)) == []
    assert apply_list_update(["a", "b"], ListUpdate(set=["c", "c"])) == ["c", "c"]
    assert apply_list_update(["a", "b", "a"], ListUpdate(remove=["a", "x"], add=["b", "c", "a"])) == ["b", "a", "c"]


@pytest.mark.parametrize(
    "update, message",
    [
        (ListUpdate(), "unsupported list update operation"),
        (ListUpdate(clear=True, remove=["a"]), "cannot clear and change the list at the same time"),
        (ListUpdate(set=["a"], add=["b"]), "cannot set and change the list at the same time"),
        (ListUpdate(remove=[""]), "empty element in the list"),
    ],
)
def test_list_update_errors(update, message):
    with pytest.raises(LiveKitError) as err:
        apply_list_update(["a"], update)
    assert err.value == LiveKitError("invalid_argument", message)


def inbound_trunk() -> sip.SIPInboundTrunkInfo:
    return sip.SIPInboundTrunkInfo(sip_trunk_id="ST_1", name="n", numbers=["+1", "+2"], metadata="m")


def test_inbound_update_fields_and_lists():
    current = inbound_trunk()
    update = sip.SIPInboundTrunkUpdate(
        numbers=ListUpdate(add=["+3"], remove=["+1"]),
        allowed_addresses=ListUpdate(set=["10.0.0.0/8"]),
        auth_username="u",
        auth_password="p",
        auth_realm="r",
        name="",
        metadata="m2",
    )
    out = apply_inbound_trunk_update(current, sip.UpdateSIPInboundTrunkRequest(update=update))
    assert list(out.numbers) == ["+2", "+3"]
    assert list(out.allowed_addresses) == ["10.0.0.0/8"]
    assert (out.auth_username, out.auth_password, out.auth_realm, out.name, out.metadata) == ("u", "p", "r", "", "m2")
    assert out.HasField("media") and out.media == sip.SIPMediaConfig()
    assert current == inbound_trunk()  # the stored object is untouched


def test_inbound_update_result_validated_and_nothing_changes():
    current = inbound_trunk()
    update = sip.SIPInboundTrunkUpdate(numbers=ListUpdate(clear=True))
    with pytest.raises(LiveKitError) as err:
        apply_inbound_trunk_update(current, sip.UpdateSIPInboundTrunkRequest(update=update))
    assert err.value.message == (
        "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers"
    )
    assert current == inbound_trunk()


def test_update_validated_before_applying():
    update = sip.SIPInboundTrunkUpdate(media=sip.SIPMediaConfig(media_timeout=Duration(seconds=-1)))
    with pytest.raises(LiveKitError, match="media_timeout must not be negative"):
        apply_inbound_trunk_update(inbound_trunk(), sip.UpdateSIPInboundTrunkRequest(update=update))


def test_missing_action():
    with pytest.raises(LiveKitError) as err:
        apply_inbound_trunk_update(inbound_trunk(), sip.UpdateSIPInboundTrunkRequest(sip_trunk_id="ST_1"))
    assert err.value.message == "missing or unsupported update action"


def test_media_encryption_does_nothing_when_media_encryption_set():
    current = inbound_trunk()
    current.media.encryption = ALLOW
    update = sip.SIPInboundTrunkUpdate(media_encryption=REQUIRE)
    out = apply_inbound_trunk_update(current, sip.UpdateSIPInboundTrunkRequest(update=update))
    assert out.media.encryption == ALLOW and out.media_encryption == ALLOW


def test_legacy_field_rewritten_from_media():
    current = inbound_trunk()
    current.media_encryption = REQUIRE
    update = sip.SIPInboundTrunkUpdate(media=sip.SIPMediaConfig(encryption=DISABLE))
    out = apply_inbound_trunk_update(current, sip.UpdateSIPInboundTrunkRequest(update=update))
    assert out.media.encryption == DISABLE and out.media_encryption == DISABLE


def test_replace_forces_current_id_without_upgrade():
    replacement = sip.SIPInboundTrunkInfo(numbers=["+9"], media_encryption=REQUIRE)
    out = apply_inbound_trunk_update(inbound_trunk(), sip.UpdateSIPInboundTrunkRequest(replace=replacement))
    assert out.sip_trunk_id == "ST_1" and list(out.numbers) == ["+9"]
    assert not out.HasField("media")


def test_replace_validated():
    with pytest.raises(LiveKitError, match="^for security"):
        apply_inbound_trunk_update(inbound_trunk(), sip.UpdateSIPInboundTrunkRequest(replace=sip.SIPInboundTrunkInfo()))


def test_outbound_update():
    current = sip.SIPOutboundTrunkInfo(sip_trunk_id="ST_2", address="a.example.com", numbers=["+1"])
    update = sip.SIPOutboundTrunkUpdate(
        address="b.example.com",
        transport=sip.SIP_TRANSPORT_TCP,
        destination_country="US",
        numbers=ListUpdate(add=["+2"]),
        auth_username="u",
        auth_password="p",
        name="x",
        metadata="y",
        from_host="f.example.com",
    )
    out = apply_outbound_trunk_update(current, sip.UpdateSIPOutboundTrunkRequest(update=update))
    assert (out.address, out.transport, out.destination_country, out.from_host) == (
        "b.example.com", sip.SIP_TRANSPORT_TCP, "US", "f.example.com",
    )
    assert list(out.numbers) == ["+1", "+2"] and (out.auth_username, out.auth_password, out.name, out.metadata) == ("u", "p", "x", "y")


def test_outbound_update_result_must_be_valid():
    current = sip.SIPOutboundTrunkInfo(address="a.example.com", numbers=["+1"])
    update = sip.SIPOutboundTrunkUpdate(address="sip:a@b")
    with pytest.raises(LiveKitError) as err:
        apply_outbound_trunk_update(current, sip.UpdateSIPOutboundTrunkRequest(update=update))
    assert err.value.message == "trunk address should be a hostname or IP, not SIP URI"


def test_dispatch_rule_update():
    current = sip.SIPDispatchRuleInfo(
        sip_dispatch_rule_id="SDR_1", rule=DIRECT, trunk_ids=["T1", "T2"], attributes={"a": "1", "b": "2"}
    )
    new_rule = sip.SIPDispatchRule(dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix="p"))
    update = sip.SIPDispatchRuleUpdate(
        trunk_ids=ListUpdate(remove=["T1"]), rule=new_rule, name="n", metadata="m", attributes={"a": "", "c": "3"}
    )
    out = apply_dispatch_rule_update(current, sip.UpdateSIPDispatchRuleRequest(update=update))
    assert list(out.trunk_ids) == ["T2"]
    assert out.rule == new_rule
    assert dict(out.attributes) == {"b": "2", "c": "3"}
    assert (out.name, out.metadata) == ("n", "m")
    assert out.HasField("media")


def test_dispatch_rule_replace_needs_rule():
    current = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_1", rule=DIRECT)
    with pytest.raises(LiveKitError) as err:
        apply_dispatch_rule_update(current, sip.UpdateSIPDispatchRuleRequest(replace=sip.SIPDispatchRuleInfo()))
    assert err.value.message == "missing rule"
