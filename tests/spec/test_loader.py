"""Loading and normalising specs: the DesiredState the later stages see."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from livekit.protocol import sip

from sipconf.errors import UserError
from sipconf.model import Origin
from sipconf.spec import SpecError, check_secrets, json_schema, load, loads
from sipconf.spec.migrate import CURRENT_VERSION, MIGRATIONS, migrate
from sipconf.spec.yamlsrc import Positions

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "spec.yaml"

SPEC = """\
version: 1
project: acme
trunks:
  twilio:
    inbound:
      numbers: ["+15105550100", "+15105550101..+15105550103"]
      allowed_addresses: ["127.0.0.0/8"]
      allowed_numbers: ["+14085550000"]
      auth: {username: acme, password: {env: TWILIO_PASSWORD}, realm: sip.acme.test}
      headers_to_attributes: {X-Customer-Tier: customer.tier}
      include_headers: all
      ringing_timeout: 1m30s
      max_call_duration: 1.5h
      ringing_timeout_status: 486
      media: {encryption: require, timeout: 250ms, codecs: [PCMU, {name: opus, rate: 48000}], only_listed_codecs: true}
      metadata: {a: 1}
    outbound:
      address: 127.0.0.21:5070
      transport: tls
      numbers: ["+15105550100"]
      auth: {username: acme, password: {file: secrets/twilio.txt}}
      attributes_to_headers: {customer.tier: X-Customer-Tier}
dispatch_rules:
  support:
    trunks: [twilio, ghost]
    numbers: ["+15105550100", {user: "5550100..5550101"}]
    individual: {room_prefix: support, no_randomness: true}
    room_config:
      agents: [{agent_name: helper, metadata: {lang: en}}]
      max_participants: 10
  board:
    callee: {room_prefix: board, pin: "0042", randomize: true}
  hall:
    direct: {room: hall}
environments:
  prod:
    url: wss://acme.livekit.cloud
    trunks:
      twilio:
        outbound: {address: acme.pstn.twilio.com}
"""


@pytest.fixture
def state():
    return loads(SPEC, "spec.yaml")


def test_inbound_trunk_is_normalised(state):
    (trunk,) = state.inbound
    msg = trunk.message
    assert (trunk.kind, trunk.name, msg.sip_trunk_id, msg.name) == ("inbound_trunk", "twilio", "twilio", "twilio")
    assert list(msg.numbers) == ["+15105550100", "+15105550101", "+15105550102", "+15105550103"]
    assert list(msg.allowed_numbers) == ["+14085550000"]
    assert (msg.auth_username, msg.auth_password, msg.auth_realm) == ("acme", "", "sip.acme.test")
    assert msg.include_headers == sip.SIP_ALL_HEADERS
    assert (msg.ringing_timeout.seconds, msg.max_call_duration.seconds) == (90, 5400)
    assert msg.ringing_timeout_status == sip.SIP_STATUS_BUSY_HERE
    assert msg.media.encryption == sip.SIP_MEDIA_ENCRYPT_REQUIRE
    assert (msg.media.media_timeout.seconds, msg.media.media_timeout.nanos) == (0, 250_000_000)
    assert [(c.name, c.rate) for c in msg.media.codecs] == [("PCMU", 0), ("opus", 48000)]
    assert msg.media.only_listed_codecs
    assert msg.metadata == '{"a":1}'
    assert trunk.origin == Origin("spec.yaml", 5, 5)
    assert trunk.secrets["auth_password"].env == "TWILIO_PASSWORD"
    assert trunk.secrets["auth_password"].origin == Origin("spec.yaml", 9, 40)


def test_field_origins_name_spec_paths_and_expanded_numbers(state):
    origins = state.inbound[0].field_origins
    assert origins["numbers"] == Origin("spec.yaml", 6, 16)
    assert origins["numbers.1"] == Origin("spec.yaml", 6, 33)
    assert origins["numbers=+15105550102"] == Origin("spec.yaml", 6, 33)
    assert origins["auth.password"] == Origin("spec.yaml", 9, 40)


def test_outbound_trunk_and_file_secret_relative_to_spec(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    (out,) = load(path).outbound
    assert out.message.transport == sip.SIP_TRANSPORT_TLS
    assert out.message.address == "127.0.0.21:5070"
    assert out.secrets["auth_password"].file == str(tmp_path / "secrets" / "twilio.txt")


def test_dispatch_rules_keep_raw_numbers_and_unknown_trunks(state):
    support, board, hall = state.rules
    assert list(support.message.trunk_ids) == ["twilio", "ghost"]
    assert list(support.message.numbers) == ["+15105550100", "5550100", "5550101"]
    assert support.message.rule.WhichOneof("rule") == "dispatch_rule_individual"
    assert support.message.rule.dispatch_rule_individual.no_randomness
    assert support.message.room_config.agents[0].metadata == '{"lang":"en"}'
    assert support.message.room_config.max_participants == 10
    assert board.message.rule.dispatch_rule_callee.pin == ""
    assert board.secrets["rule.dispatch_rule_callee.pin"].literal == "0042"
    assert board.with_literal_secrets().rule.dispatch_rule_callee.pin == "0042"
    assert hall.message.rule.dispatch_rule_direct.room_name == "hall"
    assert not hall.secrets


def test_rule_kind_is_set_even_when_empty():
    state = loads("version: 1\nproject: a\ndispatch_rules:\n  r:\n    individual: {}\n", "s.yaml")
    assert state.rules[0].message.rule.WhichOneof("rule") == "dispatch_rule_individual"


def test_environment_overlay_overrides_fields_and_sets_url(state):
    prod = loads(SPEC, "spec.yaml", env="prod")
    assert prod.url == "wss://acme.livekit.cloud"
    assert prod.environment == "prod"
    assert prod.outbound[0].message.address == "acme.pstn.twilio.com"
    assert prod.outbound[0].message.transport == sip.SIP_TRANSPORT_TLS  # untouched fields stay
    assert prod.outbound[0].field_origins["address"] == Origin("spec.yaml", 40, 29)
    assert state.url is None and state.outbound[0].message.address == "127.0.0.21:5070"


OVERLAY_ADDS = SPEC + """\
      carrier-z:
        inbound: {allowed_addresses: ["54.172.60.0/30"]}
      twilio2:
        outbound: {address: acme.pstn.twilio.com, numbers: ["+15105550100"]}
    dispatch_rules:
      hall: {attributes: {env: prod}}
      lobby: {direct: {room: lobby}}
"""


def test_an_overlay_never_adds_objects_and_still_changes_the_base_ones():
    with pytest.raises(SpecError) as info:
        loads(OVERLAY_ADDS, "spec.yaml", env="prod")
    assert [(i.code, i.origin.line) for i in info.value.issues] == [
        ("overlay-adds-object", 41), ("overlay-adds-object", 43), ("overlay-adds-object", 47),
    ]
    prod = info.value.state
    assert [o.name for o in prod.inbound] == ["twilio"]
    assert [o.name for o in prod.outbound] == ["twilio"]
    assert [o.name for o in prod.rules] == ["support", "board", "hall"]
    assert dict(prod.find("dispatch_rule", "hall").message.attributes) == {"env": "prod"}
    assert prod.outbound[0].message.address == "acme.pstn.twilio.com"


def test_an_overlay_adding_a_trunk_half_leaves_the_trunk_as_the_base_has_it():
    text = (
        "version: 1\nproject: a\ntrunks:\n  out:\n    outbound: {address: 127.0.0.21:5070, numbers: ['+15105550100']}\n"
        "environments:\n  prod:\n    trunks:\n      out:\n        inbound: {allowed_addresses: ['54.172.60.0/30']}\n"
        "        outbound: {address: acme.pstn.twilio.com}\n"
    )
    with pytest.raises(SpecError) as info:
        loads(text, "spec.yaml", env="prod")
    [issue] = info.value.issues
    assert str(issue) == (
        "spec.yaml:10:9: error: environments.prod.trunks.out.inbound: the base trunk 'out' has no inbound half;"
        " an overlay changes the base spec's objects, it never adds one [overlay-adds-object]"
    )
    prod = info.value.state
    assert prod.inbound == () and prod.outbound[0].message.address == "acme.pstn.twilio.com"


def test_spec_error_collects_everything_and_is_a_user_error():
    text = "version: 1\nproject: a\ntrunks:\n  t:\n    inbound: {numbrs: [], krisp: 1}\n"
    with pytest.raises(SpecError) as info:
        loads(text, "s.yaml")
    assert isinstance(info.value, UserError)
    assert info.value.lines == (
        "s.yaml:5:15: error: unknown key 'numbrs' (did you mean 'numbers'?) [unknown-key]",
        "s.yaml:5:34: error: trunks.t.inbound.krisp: expected a boolean (true or false), got an integer [invalid-value]",
    )


def test_literal_password_allowed_when_asked():
    text = "version: 1\nproject: a\ntrunks:\n  t:\n    inbound: {auth: {username: u, password: pw}}\n"
    with pytest.raises(SpecError):
        loads(text, "s.yaml")
    ref = loads(text, "s.yaml", allow_literal_secrets=True).inbound[0].secrets["auth_password"]
    assert ref.literal == "pw"


def test_check_secrets_names_missing_variables(state):
    issues = check_secrets(state, environ={})
    assert [str(i) for i in issues][0] == (
        "spec.yaml:9:40: error: secret environment variable TWILIO_PASSWORD is not set [missing-secret]"
    )
    without_file_secret = dataclasses.replace(state, outbound=())
    assert check_secrets(without_file_secret, {"TWILIO_PASSWORD": "x"}) == []


def test_yaml_merge_keys_are_followed():
    text = (
        "version: 1\nproject: a\ndefaults: &d {room_prefix: base}\n"
    )
    with pytest.raises(SpecError) as info:
        loads(text, "s.yaml")
    assert info.value.lines == ("s.yaml:3:1: error: unknown key 'defaults' [unknown-key]",)
    text = "version: 1\nproject: a\ndispatch_rules:\n  r:\n    individual:\n      <<: {room_prefix: base, no_randomness: true}\n      room_prefix: own\n"
    rule = loads(text, "s.yaml").rules[0].message.rule.dispatch_rule_individual
    assert (rule.room_prefix, rule.no_randomness) == ("own", True)


def test_unreadable_file_is_one_line(tmp_path):
    with pytest.raises(SpecError) as info:
        load(tmp_path / "missing.yaml")
    assert info.value.lines == (
        f"error: cannot read spec {tmp_path / 'missing.yaml'}: No such file or directory [unreadable-spec]",
    )


def test_demo_spec_loads_in_every_environment():
    base = load(DEMO)
    assert (len(base.inbound), len(base.outbound), len(base.rules)) == (2, 2, 5)
    for obj in base.outbound:
        assert obj.message.address.startswith("127.0.0.")
    for obj in base.inbound:
        assert all(a.startswith("127.") for a in obj.message.allowed_addresses)
    assert load(DEMO, env="prod").url == "wss://acme.livekit.cloud"


def test_migrations_table_upgrades_to_current():
    assert CURRENT_VERSION == 1 and MIGRATIONS == {}
    doc = {"version": 1, "project": "a"}
    assert migrate(doc, Positions("s.yaml"))[0] == doc


def test_json_schema_describes_the_spec():
    schema = json_schema()
    assert schema["title"] == "sipconf spec v1"
    assert set(schema["required"]) == {"version", "project"}
    assert schema["additionalProperties"] is False
    json.dumps(schema)


def test_spec_error_carries_what_still_loaded():
    text = (
        "version: 1\nproject: a\ntrunks:\n  t:\n    inbound: {numbers: ['+15105550100'], auth: {username: u, password: pw}}\n"
        "  bad:\n    inbound: {numbrs: []}\ndispatch_rules:\n  r:\n    trunks: [bad]\n    direct: {room: x}\n"
    )
    with pytest.raises(SpecError) as info:
        loads(text, "s.yaml")
    assert [i.code for i in info.value.issues] == ["literal-secret", "unknown-key"]
    state = info.value.state
    assert [o.name for o in state.objects()] == ["t"]  # `bad` left out, and the rule naming it
    assert state.inbound[0].secrets["auth_password"].literal == "pw"
