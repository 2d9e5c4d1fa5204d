"""Live -> model (`from_live`) and model -> request body (`to_live`) round-trip (hypothesis); canonical form."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies
from livekit.protocol import sip

from sipconf.livekit.wire import to_live
from sipconf.model import get_path
from sipconf.plan.canonical import canonical, flatten, from_live, with_secrets

text = strategies.text(alphabet="abcdefgh+0123456789", max_size=6)
names = strategies.text(alphabet="abcdefgh-", min_size=1, max_size=6)


@strategies.composite
def live_trunks(draw):
    return sip.SIPInboundTrunkInfo(
        sip_trunk_id="ST_" + draw(names),
        name=draw(names),
        metadata=draw(text),
        numbers=draw(strategies.lists(text, max_size=3)),
        allowed_numbers=draw(strategies.lists(text, max_size=2)),
        auth_username=draw(text),
        auth_password=draw(text),
        headers_to_attributes=draw(strategies.dictionaries(names, names, max_size=2)),
        krisp_enabled=draw(strategies.booleans()),
        media_encryption=draw(strategies.sampled_from([0, 1, 2])),
    )


@strategies.composite
def live_rules(draw):
    rule = sip.SIPDispatchRuleInfo(
        sip_dispatch_rule_id="SDR_" + draw(names),
        name=draw(names),
        trunk_ids=draw(strategies.lists(strategies.sampled_from(["ST_a", "ST_b", "ST_gone"]), unique=True)),
        numbers=draw(strategies.lists(text, max_size=2)),
        attributes=draw(strategies.dictionaries(names, text, max_size=2)),
        hide_phone_number=draw(strategies.booleans()),
    )
    kind = draw(strategies.sampled_from(["dispatch_rule_direct", "dispatch_rule_individual", "dispatch_rule_callee"]))
    member = getattr(rule.rule, kind)
    member.SetInParent()
    member.pin = draw(text)
    if kind == "dispatch_rule_direct":
        member.room_name = draw(names)
    else:
        member.room_prefix = draw(text)
    return rule


TRUNK_NAMES = {"ST_a": "alpha", "ST_b": "beta"}
TRUNK_IDS = {"alpha": "ST_a", "beta": "ST_b", "ST_gone": "ST_gone"}


@given(live_trunks())
def test_inbound_trunk_round_trips_and_secrets_leave_the_model(trunk):
    model, secrets = from_live("inbound_trunk", trunk, TRUNK_NAMES)
    assert model.auth_password == "" and secrets.get("auth_password", "") == trunk.auth_password
    back = to_live("inbound_trunk", model.name, with_secrets(model, secrets), TRUNK_IDS)
    assert canonical("inbound_trunk", back) == canonical("inbound_trunk", trunk)


@given(live_rules())
def test_dispatch_rule_round_trips_through_trunk_names(rule):
    model, secrets = from_live("dispatch_rule", rule, TRUNK_NAMES)
    assert "ST_a" not in model.trunk_ids and "ST_b" not in model.trunk_ids
    assert get_path(model, f"rule.{model.rule.WhichOneof('rule')}.pin") == ""
    back = to_live("dispatch_rule", model.name, with_secrets(model, secrets), TRUNK_IDS)
    assert canonical("dispatch_rule", back) == canonical("dispatch_rule", rule)


def test_absent_media_equals_empty_media_and_legacy_encryption_folds_in():
    plain = sip.SIPInboundTrunkInfo(name="t")
    upgraded = sip.SIPInboundTrunkInfo(name="t")
    upgraded.media.SetInParent()
    assert canonical("inbound_trunk", plain) == canonical("inbound_trunk", upgraded)
    legacy = sip.SIPInboundTrunkInfo(name="t", media_encryption=sip.SIP_MEDIA_ENCRYPT_REQUIRE)
    modern = sip.SIPInboundTrunkInfo(name="t")
    modern.media.encryption = sip.SIP_MEDIA_ENCRYPT_REQUIRE
    assert canonical("inbound_trunk", legacy) == canonical("inbound_trunk", modern)


def test_flatten_walks_messages_and_names_enums():
    rule = sip.SIPDispatchRuleInfo(name="r", attributes={"b": "2", "a": "1"})
    rule.rule.dispatch_rule_direct.room_name = "room"
    assert flatten(rule) == {
        "name": "r",
        "rule.dispatch_rule_direct.room_name": "room",
        "attributes": {"a": "1", "b": "2"},
    }
    trunk = sip.SIPOutboundTrunkInfo(transport=sip.SIP_TRANSPORT_TCP)
    assert flatten(trunk) == {"transport": "SIP_TRANSPORT_TCP"}
