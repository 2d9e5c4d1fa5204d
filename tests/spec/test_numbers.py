"""The number form: E.164 phone numbers as plain strings, anything else as `{user: ...}`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sipconf.spec import SpecError, loads
from sipconf.spec.numbers import E164_RULE, NumberEntry, check_entry

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
version: 1
project: acme
trunks:
  pbx:
    inbound:
      numbers: ["+15105550100", {user: "1001"}, {user: "2000..2002"}, {user: reception}]
      allowed_numbers: [{user: "14085550001"}]
      allowed_addresses: ["127.0.0.1"]
    outbound:
      address: 127.0.0.21:5070
      numbers: [{user: "1001"}]
dispatch_rules:
  desk:
    trunks: [pbx]
    numbers: [{user: "1001"}]
    inbound_numbers: [{user: "14085550001"}]
    direct: {room: desk}
"""


def test_users_reach_livekit_exactly_as_written():
    state = loads(SPEC, "spec.yaml")
    trunk, = state.inbound
    assert list(trunk.message.numbers) == ["+15105550100", "1001", "2000", "2001", "2002", "reception"]
    assert list(trunk.message.allowed_numbers) == ["14085550001"]
    assert list(state.outbound[0].message.numbers) == ["1001"]
    rule, = state.rules
    assert (list(rule.message.numbers), list(rule.message.inbound_numbers)) == (["1001"], ["14085550001"])
    assert trunk.field_origins["numbers=2001"] == trunk.field_origins["numbers.2"]


def test_a_call_to_an_extension_is_routed_by_its_user_entry(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "sipconf", "explain", str(spec), "--to", "1001", "--from", "14085550001",
         "--src-ip", "127.0.0.1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "desk" in run.stdout


@pytest.mark.parametrize("value", ["+1", "+15105550100", "+123456789012345", "+15105550100..+15105550199"])
def test_e164_numbers_and_ranges_are_plain_strings(value):
    assert check_entry(value) == NumberEntry(value)


@pytest.mark.parametrize("value,hint", [
    ("+1-646-555-0100", "write '+16465550100'"),
    ("+1 (646) 555 0100", "write '+16465550100'"),
    ("+1234567890123456", "this one has 16 digits"),
    ("16465550100", 'write it with \'+\' and the country code, or an extension or SIP user name as {user: "16465550100"}'),
    ("1000..1099", 'write a range of extensions as {user: "1000..1099"}'),
])
def test_other_spellings_name_the_rule_and_the_fix(value, hint):
    with pytest.raises(ValueError) as info:
        check_entry(value)
    assert E164_RULE in str(info.value)
    assert str(info.value).endswith(hint)


@pytest.mark.parametrize("value", ["1001", "alice", "1-800-FLOWERS", "1000..1099"])
def test_users_are_anything_a_call_can_carry(value):
    assert check_entry(value, user=True) == NumberEntry(value, user=True)


@pytest.mark.parametrize("value", ["+15105550100", "+1000..+1099", "front desk", "a@b", ""])
def test_users_refuse_phone_numbers_and_what_no_call_carries(value):
    with pytest.raises(ValueError):
        check_entry(value, user=True)


def test_entry_sizes_are_counted_without_expanding():
    assert NumberEntry("+15100000000..+15100009999").size() == 10_000
    assert NumberEntry("1000..1099", user=True).size() == 100
    assert NumberEntry("+15105550100").size() == 1


def test_a_user_and_a_number_that_normalise_alike_are_one_number():
    text = SPEC.replace('numbers: ["+15105550100", {user: "1001"}', 'numbers: ["+15105550100", {user: "15105550100"}')
    with pytest.raises(SpecError) as info:
        loads(text, "spec.yaml")
    assert [str(i) for i in info.value.issues] == [
        "spec.yaml:6:33: error: number '15105550100' is listed more than once (first at spec.yaml:6:17) [duplicate-number]"
    ]


def test_the_schema_states_the_number_form():
    from sipconf.spec import json_schema

    entry = json_schema()["$defs"]["InboundTrunk"]["properties"]["numbers"]["items"]
    string, user = entry["oneOf"]
    assert string["type"] == "string" and E164_RULE in string["description"]
    assert user["required"] == ["user"] and "extension or SIP user name" in user["description"]
