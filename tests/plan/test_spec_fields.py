"""A plan speaks the spec: protobuf paths and values become the spec's, and the spec's order."""

from __future__ import annotations

import pytest

from sipconf.model.kinds import INBOUND, OUTBOUND, RULE
from sipconf.plan.spec_fields import ORDER, format_duration, object_path, order_key, spec_path, spec_value
from sipconf.spec import models
from sipconf.spec.values import parse_duration


@pytest.mark.parametrize(
    ("proto", "spec"),
    [
        ("auth_password", "auth.password"),
        ("auth_realm", "auth.realm"),
        ("krisp_enabled", "krisp"),
        ("trunk_ids", "trunks"),
        ("media.media_timeout", "media.timeout"),
        ("media.encryption", "media.encryption"),
        ("rule.dispatch_rule_direct.room_name", "direct.room"),
        ("rule.dispatch_rule_direct.pin", "direct.pin"),
        ("rule.dispatch_rule_individual.no_randomness", "individual.no_randomness"),
        ("rule.dispatch_rule_callee", "callee"),
        ("room_config.empty_timeout", "room_config.empty_timeout"),
        ("numbers", "numbers"),
        ("name", None),
        ("some_future_field", "some_future_field"),  # never hidden: shown as LiveKit names it
    ],
)
def test_protobuf_paths_become_spec_paths(proto, spec):
    assert spec_path(proto) == spec


def test_values_are_written_as_the_spec_writes_them():
    assert spec_value("transport", "SIP_TRANSPORT_UDP") == "udp"
    assert spec_value("include_headers", "SIP_X_HEADERS") == "x-headers"
    assert spec_value("media.encryption", "SIP_MEDIA_ENCRYPT_ALLOW") == "allow"
    assert spec_value("max_call_duration", "3600s") == "1h"
    assert spec_value("ringing_timeout_status", "SIP_STATUS_BUSY_HERE") == 486
    assert spec_value("media.codecs", [{"name": "PCMU"}, {"name": "opus", "rate": 48000}]) == ["PCMU", {"name": "opus", "rate": 48000}]
    assert spec_value("trunks", ["twilio"]) == ["twilio"]


@pytest.mark.parametrize(
    ("proto", "spec"),
    [("3600s", "1h"), ("5400s", "1h30m"), ("90s", "1m30s"), ("30s", "30s"), ("0s", "0s"),
     ("0.500s", "500ms"), ("0.000001s", "1us"), ("1.500s", "1.5s"), ("3661s", "1h1m1s")],
)
def test_durations_read_back_as_the_same_duration(proto, spec):
    assert format_duration(proto) == spec
    seconds, nanos = parse_duration(spec).seconds_nanos
    assert seconds + nanos / 1e9 == pytest.approx(float(proto.removesuffix("s")))


def test_object_paths():
    assert object_path(INBOUND, "twilio") == "trunks.twilio.inbound"
    assert object_path(OUTBOUND, "twilio") == "trunks.twilio.outbound"
    assert object_path(RULE, "support") == "dispatch_rules.support"


def test_the_order_names_every_spec_field_and_only_those():
    def fields(model) -> set[str]:
        return set(model.model_fields) - {"managed"}

    assert set(ORDER[INBOUND]) == fields(models.InboundTrunk)
    assert set(ORDER[OUTBOUND]) == fields(models.OutboundTrunk)
    assert set(ORDER[RULE]) == fields(models.DispatchRule)
    assert set(ORDER[INBOUND]["auth"]) == fields(models.InboundAuth)
    assert set(ORDER[INBOUND]["media"]) == fields(models.Media)
    assert set(ORDER[RULE]["room_config"]) == fields(models.RoomConfig)
    for kind in ("direct", "individual", "callee"):
        assert set(ORDER[RULE][kind]) == fields(getattr(models, kind.capitalize()))


def test_fields_sort_in_the_specs_order_unknown_ones_last():
    paths = ["krisp", "auth.realm", "numbers", "zzz", "auth.username", "allowed_addresses"]
    assert sorted(paths, key=lambda p: order_key(INBOUND, p)) == [
        "numbers", "allowed_addresses", "auth.username", "auth.realm", "krisp", "zzz"
    ]
