"""List and map fields diff per element, lists of numbers as ranges; the three renderers agree."""

from __future__ import annotations

import json

from sipconf.plan.changes import FieldChange
from sipconf.plan.elements import ListDelta, MapDelta, NumberDelta, delta, list_delta, map_delta, number_delta
from sipconf.plan.plan import make_plan
from sipconf.plan.render.json_plan import plan_document
from sipconf.plan.render.markdown import MarkdownRenderer
from sipconf.plan.render.text import TextRenderer
from sipconf.plan.render.values import update_lines
from tests.plan.helpers import inbound, inventory, live_rule, live_trunk, rule, state

KEY = "k" * 32


def numbers(first: int, last: int) -> list[str]:
    return [f"+1510555{n:04d}" for n in range(first, last + 1)]


def plan_of(desired, inv):
    return make_plan(desired, inv, url="http://127.0.0.1:1", key=KEY)


def owned_twilio(live_numbers, rule_attributes=None):
    live = live_rule("SDR_r", "support", ["ST_a"])
    live.attributes.update(rule_attributes or {})
    return inventory(
        [live_trunk("ST_a", "twilio", live_numbers)],
        [live],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")],
    )


def lines(field: FieldChange) -> list[tuple[str, str]]:
    return [(line.symbol, line.text) for line in update_lines(field)]


# -- the deltas ---------------------------------------------------------------------------


def test_list_delta_counts_duplicates_and_keeps_each_sides_order():
    d = list_delta(["a", "b", "b", "c"], ["c", "b", "d", "a"])
    assert (d.added, d.removed) == (("d",), ("b",))
    assert (d.kept_before, d.kept_after, d.reordered) == (("a", "b", "c"), ("c", "b", "a"), True)
    assert list_delta(["a", "b"], ["a", "x", "b"]).reordered is False


def test_list_delta_compares_structured_elements_by_value():
    d = list_delta([{"codec": "PCMU", "x": 1}], [{"x": 1, "codec": "PCMU"}, {"codec": "PCMA"}])
    assert (d.added, d.removed, d.reordered) == (({"codec": "PCMA"},), (), False)
    assert list_delta([1], ["1"]).added == ("1",)  # a string is not the number it spells


def test_map_delta_is_per_key_in_key_order():
    d = map_delta({"b": "1", "a": "1", "z": "old"}, {"z": "new", "c": "2", "a": "1"})
    assert d == MapDelta(added={"c": "2"}, removed={"b": "1"}, changed={"z": ("old", "new")})


def test_delta_shape_follows_the_values_and_an_unset_side_is_empty():
    assert delta(None, ["a"]) == ListDelta(("a",), (), (), ())
    assert delta({"k": "v"}, None) == MapDelta({}, {"k": "v"}, {})
    assert delta("a", "b") is None
    assert delta(None, {}) is None  # an empty sub-message, not a map
    assert FieldChange("auth.password", "1a2b3c4d", "5e6f7a8b", sensitive=True).delta is None


def test_number_delta_is_sorted_ranges_with_counts():
    d = number_delta(numbers(100, 110), numbers(100, 105) + numbers(120, 139) + ["+15105550111"])
    assert d == NumberDelta(("+15105550111", "+15105550120..+15105550139"), ("+15105550106..+15105550110",), False)
    assert (d.added_count, d.removed_count) == (21, 5)
    assert number_delta(None, numbers(100, 101)).added == ("+15105550100", "+15105550101")
    assert FieldChange("numbers", numbers(100, 102), list(reversed(numbers(100, 102)))).delta.reordered


# -- text, markdown and JSON --------------------------------------------------------------


def test_twenty_added_numbers_of_a_big_trunk_are_one_range_line_in_every_renderer():
    plan = plan_of(
        state(inbound("twilio", numbers(100, 999) + numbers(1120, 1139)), rule("support", ["twilio"])),
        owned_twilio(numbers(100, 999)),
    )
    text = TextRenderer().render(plan)
    assert text.splitlines()[:2] == [
        "~ trunks.twilio.inbound (ST_a)  # spec.yaml:2",
        "    + numbers: +15105551120..+15105551139 (20)",
    ]
    md = MarkdownRenderer().render(plan)
    assert "+   numbers: +15105551120..+15105551139 (20)\n" in md
    (field,) = plan.changes[0].fields
    doc = plan_document(plan)["changes"][0]["fields"][0]
    assert doc == {
        "path": "numbers",
        "origin": None,
        "before": ["+15105550100..+15105550999"],
        "after": ["+15105550100..+15105550999", "+15105551120..+15105551139"],
        "sensitive": False,
        "added": ["+15105551120..+15105551139"],
        "removed": [],
        "added_count": 20,
        "removed_count": 0,
        "reordered": False,
    }
    assert FieldChange.from_json(doc) == field
    assert max(len(line) for line in text.splitlines()) < 200


def test_replaced_number_shows_added_then_removed_in_text_and_markdown():
    live = numbers(100, 110)
    want = numbers(100, 109) + ["+15105550151"]
    plan = plan_of(state(inbound("twilio", want), rule("support", ["twilio"])), owned_twilio(live))
    text = TextRenderer().render(plan)
    assert "    + numbers: +15105550151\n    - numbers: +15105550110\n" in text
    md = MarkdownRenderer().render(plan)
    assert "+   numbers: +15105550151\n-   numbers: +15105550110\n" in md


def test_reorder_is_noted_with_both_orders_or_a_count():
    few = FieldChange("media.codecs", ["PCMU", "PCMA"], ["PCMA", "PCMU"])
    assert lines(few) == [("~", "media.codecs: order changed: [PCMU, PCMA] -> [PCMA, PCMU]")]
    many = FieldChange("allowed_addresses", [f"10.0.0.{i}" for i in range(10)], [f"10.0.0.{i}" for i in reversed(range(10))] + ["10.0.1.0/24"])
    assert lines(many) == [("+", "allowed_addresses: 10.0.1.0/24"), ("~", "allowed_addresses: order changed: 10 elements")]
    reordered = FieldChange("numbers", numbers(100, 109), list(reversed(numbers(100, 109))) + ["+15105550151"])
    assert lines(reordered) == [("+", "numbers: +15105550151"), ("~", "numbers: order changed")]


def test_map_fields_show_added_removed_and_changed_keys_by_spec_path():
    live = {"team": "support", "tier": "gold", "old": "x"}
    want = rule("support", ["twilio"])
    want.message.attributes.update({"team": "sales", "tier": "gold", "region": "eu"})
    plan = plan_of(state(inbound("twilio"), want), owned_twilio(["+15105550100"], live))
    text = TextRenderer().render(plan)
    assert text.splitlines()[:4] == [
        "~ dispatch_rules.support (SDR_r)  # spec.yaml:5",
        "    + attributes.region: eu",
        "    - attributes.old: x",
        "    ~ attributes.team: support -> sales",
    ]
    (field,) = plan.changes[0].fields
    assert field.to_json() == {
        "path": "attributes",
        "origin": None,
        "before": live,
        "after": {"region": "eu", "team": "sales", "tier": "gold"},
        "sensitive": False,
        "added": {"region": "eu"},
        "removed": {"old": "x"},
        "changed": {"team": {"before": "support", "after": "sales"}},
    }


def test_a_create_shows_each_spec_key_once_with_numbers_as_ranges():
    plan = plan_of(state(inbound("twilio", numbers(100, 119) + ["+15105550150"], password="pw")), inventory())
    text = TextRenderer().render(plan)
    fp = next(f.after for f in plan.changes[0].fields if f.sensitive)
    assert text.splitlines()[:3] == [
        "+ trunks.twilio.inbound  # spec.yaml:2",
        "    + numbers: [+15105550100..+15105550119, +15105550150] (21)",
        f"    + auth: {{username: acme, password: (sensitive) {fp}}}",
    ]
    created = plan_document(plan)["changes"][0]["fields"]
    assert [f["path"] for f in created] == ["numbers", "auth.username", "auth.password"]
    assert created[0]["added"] == ["+15105550100..+15105550119", "+15105550150"] and created[0]["added_count"] == 21
    assert lines(FieldChange("allowed_addresses", None, ["127.0.0.1"])) == [("+", "allowed_addresses: [127.0.0.1]")]


def test_a_password_keeps_its_fingerprint_and_a_pin_shows_none():
    want_rule = rule("support", ["twilio"], pin="4321")
    live = live_rule("SDR_r", "support", ["ST_a"], pin="1234")
    inv = inventory(
        [live_trunk("ST_a", "twilio", numbers(100, 100), password="old-pass")],
        [live],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")],
    )
    plan = plan_of(state(inbound("twilio", numbers(100, 100), password="new-pass"), want_rule), inv)
    doc = plan_document(plan)
    fields = {f["path"]: f for c in doc["changes"] for f in c["fields"]}
    password, pin = fields["auth.password"], fields["direct.pin"]
    assert set(password) == {"path", "origin", "sensitive", "changed", "before", "after"}
    assert password["changed"] and len(password["before"]) == len(password["after"]) == 8
    assert pin == {"path": "direct.pin", "origin": None, "sensitive": True, "changed": True, "before": "set", "after": "set"}
    text = TextRenderer().render(plan)
    assert f"    ~ auth.password: (sensitive, changed) {password['before']} -> {password['after']}\n" in text
    assert "    ~ direct.pin: (sensitive, changed)\n" in text
    out = text + json.dumps(doc) + MarkdownRenderer().render(plan)
    for secret in ("new-pass", "old-pass", "4321", "1234"):
        assert secret not in out
    assert FieldChange.from_json(pin).changed and FieldChange.from_json(pin).rotated


def test_an_unchanged_pin_is_listed_as_unchanged_and_plans_no_update():
    want = rule("support", ["twilio"], pin="4321", room="other")
    live = live_rule("SDR_r", "support", ["ST_a"], pin="4321")
    inv = inventory([live_trunk("ST_a", "twilio")], [live], owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")])
    plan = plan_of(state(inbound("twilio"), want), inv)
    text = TextRenderer().render(plan)
    assert "      direct.pin: (sensitive, unchanged)\n" in text and "    ~ direct.room: support -> other\n" in text
    same = plan_of(state(inbound("twilio"), rule("support", ["twilio"], pin="4321")), inv)
    assert same.empty


def test_unmanaged_drift_fields_diff_per_element():
    inv = inventory([live_trunk("ST_b", "twilio", numbers(100, 102))])
    plan = plan_of(state(inbound("twilio", numbers(100, 103), managed=False)), inv)
    text = TextRenderer().render(plan)
    assert "  trunks.twilio.inbound (ST_b): differs (managed: false" in text
    assert "    + numbers: +15105550103\n" in text
    md = MarkdownRenderer().render(plan)
    assert "  - `+ numbers: +15105550103`" in md
    assert plan_document(plan)["unmanaged"][0]["fields"][0]["added"] == ["+15105550103"]
