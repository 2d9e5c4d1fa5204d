"""docs/plan-json.schema.json describes the JSON plan, and the validator the tests use works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sipconf.plan.plan import make_plan
from sipconf.plan.render.json_plan import FORMAT_VERSION, plan_document
from sipconf.plan.saved import desired_to_json
from tests.plan.helpers import inbound, inventory, live_rule, live_trunk, rule, state
from tests.json_schema import SchemaError, errors

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "plan-json.schema.json").read_text())
KEY = "k" * 32


def every_shape_plan():
    """Creates, an update with list, map, value and sensitive fields, a delete, route impact,
    unmanaged notes with fields: every part of the document at least once."""
    live_support = live_rule("SDR_r", "support", ["ST_a"], pin="1234")
    live_support.attributes.update({"team": "support", "old": "x"})
    inv = inventory(
        [
            live_trunk("ST_a", "twilio", ["+15105550100", "+15105550101"]),
            live_trunk("ST_g", "gone", ["+15105550300"]),
            live_trunk("ST_u", "hand-made", ["+15105550400"]),
            live_trunk("ST_m", "left-alone", ["+15105550500"]),
        ],
        [live_support],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("inbound_trunk", "gone", "ST_g"), ("dispatch_rule", "support", "SDR_r")],
    )
    support = rule("support", ["twilio"], room="support-2", pin="4321")
    support.message.attributes.update({"team": "sales"})
    desired = state(
        inbound("twilio", ["+15105550101", "+15105550102"], password="pw"),
        inbound("telnyx", ["+15105550200"], line=9),
        inbound("left-alone", ["+15105550501"], managed=False, line=12),
        support,
        rule("sales", ["telnyx"], room="sales", line=20),
    )
    return make_plan(desired, inv, url="http://127.0.0.1:1", key=KEY)


def shapes(doc) -> set[str]:
    found = set()
    for f in [f for c in doc["changes"] for f in c["fields"]] + [f for u in doc["unmanaged"] for f in u["fields"]]:
        if f["sensitive"]:
            found.add("sensitive")
        elif "added_count" in f:
            found.add("numbers")
        elif "reordered" in f:
            found.add("list")
        elif "changed" in f:
            found.add("map")
        else:
            found.add("value")
    return found


def test_a_plan_with_every_shape_validates():
    plan = every_shape_plan()
    doc = json.loads(json.dumps(plan_document(plan)))
    assert shapes(doc) == {"sensitive", "numbers", "list", "map", "value"}
    assert {c["action"] for c in doc["changes"]} == {"create", "update", "delete"}
    assert doc["route_impact"] and doc["requires_force"]
    assert {u["status"] for u in doc["unmanaged"]} == {"not-in-spec", "differs"}
    assert errors(SCHEMA, doc) == []


def test_a_saved_plan_with_desired_validates_and_the_empty_plan_too():
    plan = every_shape_plan()
    doc = plan_document(plan)
    doc["desired"] = desired_to_json(plan.desired, key=KEY)
    doc["desired"]["secrets_checksum"] = plan.secrets_checksum
    assert errors(SCHEMA, json.loads(json.dumps(doc))) == []
    empty = make_plan(state(), inventory(), url="http://127.0.0.1:1", key=KEY)
    assert errors(SCHEMA, json.loads(json.dumps(plan_document(empty)))) == []


def test_a_plan_made_with_only_validates():
    inv = inventory([live_trunk("ST_a", "twilio", ["+15105550100"])], [], owned=[("inbound_trunk", "twilio", "ST_a")])
    desired = state(
        inbound("twilio", ["+15105550101"]), inbound("telnyx", ["+15105550200"], line=9),
        rule("support", ["twilio"], room="support", line=14), rule("sales", ["twilio", "telnyx"], room="sales", line=20),
    )
    plan = make_plan(desired, inv, url="http://127.0.0.1:1", key=KEY, only=("support",))
    doc = json.loads(json.dumps(plan_document(plan)))
    assert [c["path"] for c in doc["changes"]] == ["trunks.twilio.inbound", "dispatch_rules.support"]
    assert doc["only"] == {
        "names": ["support"],
        "dependents": [{"kind": "dispatch_rule", "name": "sales", "path": "dispatch_rules.sales", "uses": ["twilio"]}],
        "left_out": 2,
    }
    assert errors(SCHEMA, doc) == []


def test_the_schema_pins_the_current_format_version():
    assert SCHEMA["properties"]["format_version"] == {"const": FORMAT_VERSION}


def test_broken_documents_are_refused_with_a_path():
    doc = json.loads(json.dumps(plan_document(every_shape_plan())))
    update = next(c for c in doc["changes"] if c["action"] == "update")
    secret = next(f for f in update["fields"] if f["sensitive"])
    numbers = next(f for f in update["fields"] if f["path"] == "numbers")
    secret["after"] = "pw"  # a value where a fingerprint belongs
    del numbers["added_count"]  # a list of numbers without its count
    doc["summary"]["create"] = -1
    doc["surprise"] = True
    i = doc["changes"].index(update)
    j, k = update["fields"].index(secret), update["fields"].index(numbers)
    assert sorted(errors(SCHEMA, doc)) == sorted([
        "$: 'surprise' is not allowed",
        "$.summary.create: -1 is less than 0",
        f"$.changes[{i}].fields[{j}]: matches 0 of the oneOf schemas",
        f"$.changes[{i}].fields[{k}]: matches 0 of the oneOf schemas",
    ])


def test_validator_keywords():
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": ["integer", "null"], "minimum": 1},
            "b": {"enum": ["x", "y"]},
            "c": {"const": True},
            "d": {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "boolean"}, "maxItems": 2},
            "e": {"anyOf": [{"type": "string", "pattern": "^z"}, {"type": "null"}]},
        },
        "additionalProperties": {"type": "string", "minLength": 2},
    }
    assert errors(schema, {"a": None, "b": "x", "c": True, "d": ["s", False], "e": "zz", "f": "ok"}) == []
    assert errors(schema, {"a": True, "b": "z", "c": 1, "d": ["s", "t", True], "e": "q", "f": "o"}) == [
        "$.a: boolean is not integer or null",
        "$.b: 'z' is not one of ['x', 'y']",
        "$.c: 1 is not True",
        "$.d: 3 items, more than 2",
        "$.d[1]: string is not boolean",
        "$.e: matches 0 of the anyOf schemas",
        "$.f: 'o' is shorter than 2",
    ]
    assert errors(schema, {"a": 0.5}) == ["$.a: number is not integer or null"]
    assert errors(schema, []) == ["$: array is not object"]


def test_validator_refuses_what_it_does_not_know():
    with pytest.raises(SchemaError, match=r"unsupported keyword\(s\) \['if'\]"):
        errors({"if": {}}, 1)
    with pytest.raises(SchemaError, match="unresolvable reference '#/\\$defs/nope'"):
        errors({"$ref": "#/$defs/nope"}, 1)


def test_the_doc_names_every_map_field_and_the_schema_file():
    from livekit.protocol import sip

    doc = (ROOT / "docs" / "plan-json.md").read_text()
    maps = {
        f.name
        for cls in (sip.SIPInboundTrunkInfo, sip.SIPOutboundTrunkInfo, sip.SIPDispatchRuleInfo)
        for f in cls.DESCRIPTOR.fields
        if f.message_type is not None and f.message_type.GetOptions().map_entry
    }
    line = next(row for row in doc.splitlines() if row.startswith("| field shape |"))
    assert maps == {"headers", "headers_to_attributes", "attributes_to_headers", "attributes"}
    assert all(f"`{name}`" in line for name in maps)
    assert "(plan-json.schema.json)" in doc
