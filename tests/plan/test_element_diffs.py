"""List and map fields diff per element; route impact groups consecutive numbers."""

from __future__ import annotations

import json

from sipconf.plan.changes import FieldChange, RouteChange, RouteOutcome
from sipconf.plan.elements import ListDelta, MapDelta, delta, list_delta, map_delta
from sipconf.plan.impact import NO_RULE, group_route_changes
from sipconf.plan.plan import make_plan
from sipconf.plan.render.json_plan import plan_document
from sipconf.plan.render.markdown import MarkdownRenderer
from sipconf.plan.render.text import TextRenderer
from sipconf.plan.render.values import field_lines
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


# -- the deltas ---------------------------------------------------------------------------


def test_list_delta_counts_duplicates_and_keeps_each_sides_order():
    d = list_delta(["a", "b", "b", "c"], ["c", "b", "d", "a"])
    assert (d.added, d.removed) == (("d",), ("b",))
    assert (d.kept_before, d.kept_after, d.reordered) == (("a", "b", "c"), ("c", "b", "a"), True)
    assert list_delta(["a", "b"], ["a", "x", "b"]).reordered is False


def test_list_delta_compares_structured_elements_by_value():
    d = list_delta([{"codec": "PCMU", "x": 1}], [{"x": 1, "codec": "PCMU"}, {"codec": "PCMA"}])
    assert (d.added, d.removed, d.reordered) == (({"codec": "PCMA"},), (), False)


def test_map_delta_is_per_key_in_key_order():
    d = map_delta({"b": "1", "a": "1", "z": "old"}, {"z": "new", "c": "2", "a": "1"})
    assert d == MapDelta(added={"c": "2"}, removed={"b": "1"}, changed={"z": ("old", "new")})


def test_delta_shape_follows_the_values_and_an_unset_side_is_empty():
    assert delta(None, ["a"]) == ListDelta(("a",), (), (), ())
    assert delta({"k": "v"}, None) == MapDelta({}, {"k": "v"}, {})
    assert delta("a", "b") is None
    assert delta(None, {}) is None  # an empty sub-message, not a map
    assert FieldChange("auth_password", "1a2b3c4d", "5e6f7a8b", sensitive=True).delta is None


# -- text, markdown and JSON --------------------------------------------------------------


def test_one_added_number_of_22_is_one_line_not_two_lists():
    plan = plan_of(state(inbound("twilio", numbers(100, 121)), rule("support", ["twilio"])), owned_twilio(numbers(100, 120)))
    text = TextRenderer().render(plan)
    assert text.splitlines()[:2] == ['~ inbound_trunk "twilio" (ST_a)', '    + numbers: +"+15105550121"']
    assert "+15105550100" not in text.split("Route impact")[0]
    (field,) = plan.changes[0].fields
    doc = plan_document(plan)["changes"][0]["fields"][0]
    assert doc == {
        "path": "numbers",
        "before": numbers(100, 120),
        "after": numbers(100, 121),
        "sensitive": False,
        "added": ["+15105550121"],
        "removed": [],
        "reordered": False,
    }
    assert FieldChange.from_json(doc) == field


def test_replaced_number_shows_added_then_removed_in_text_and_markdown():
    live = numbers(100, 110)
    want = numbers(100, 109) + ["+15105550151"]
    plan = plan_of(state(inbound("twilio", want), rule("support", ["twilio"])), owned_twilio(live))
    text = TextRenderer().render(plan)
    assert '    + numbers: +"+15105550151"\n    - numbers: -"+15105550110"\n' in text
    md = MarkdownRenderer().render(plan)
    assert '+   numbers: +"+15105550151"\n-   numbers: -"+15105550110"\n' in md


def test_reorder_is_noted_with_both_orders_or_a_count():
    few = FieldChange("media.codecs", [{"name": "PCMU"}, {"name": "PCMA"}], [{"name": "PCMA"}, {"name": "PCMU"}])
    assert field_lines(few, "update") == [
        ("~", 'media.codecs: order changed: [{"name": "PCMU"}, {"name": "PCMA"}] -> [{"name": "PCMA"}, {"name": "PCMU"}]')
    ]
    many = FieldChange("numbers", numbers(100, 109), list(reversed(numbers(100, 109))) + ["+15105550151"])
    assert field_lines(many, "update") == [
        ("+", 'numbers: +"+15105550151"'),
        ("~", "numbers: order changed: 10 elements"),
    ]


def test_map_fields_show_added_removed_and_changed_keys():
    live = {"team": "support", "tier": "gold", "old": "x"}
    want = rule("support", ["twilio"])
    want.message.attributes.update({"team": "sales", "tier": "gold", "region": "eu"})
    plan = plan_of(state(inbound("twilio"), want), owned_twilio(["+15105550100"], live))
    text = TextRenderer().render(plan)
    assert text.splitlines()[:4] == [
        '~ dispatch_rule "support" (SDR_r)',
        '    + attributes: +"region": "eu"',
        '    - attributes: -"old": "x"',
        '    ~ attributes: ~"team": "support" -> "sales"',
    ]
    (field,) = plan.changes[0].fields
    assert field.to_json() == {
        "path": "attributes",
        "before": live,
        "after": {"region": "eu", "team": "sales", "tier": "gold"},
        "sensitive": False,
        "added": {"region": "eu"},
        "removed": {"old": "x"},
        "changed": {"team": {"before": "support", "after": "sales"}},
    }


def test_creates_and_newly_set_lists_still_show_the_whole_value():
    plan = plan_of(state(inbound("twilio", numbers(100, 101))), inventory())
    text = TextRenderer().render(plan)
    assert '    + numbers = ["+15105550100", "+15105550101"]' in text
    created = plan_document(plan)["changes"][0]["fields"]
    assert [f for f in created if f["path"] == "numbers"][0]["added"] == numbers(100, 101)
    assert field_lines(FieldChange("allowed_addresses", None, ["127.0.0.1"]), "update") == [
        ("+", 'allowed_addresses = ["127.0.0.1"]')
    ]


def test_secrets_stay_fingerprints_with_no_element_keys():
    want = inbound("twilio", numbers(100, 101), password="new-pass")
    plan = plan_of(state(want, rule("support", ["twilio"])), owned_twilio(numbers(100, 100)))
    fields = {f["path"]: f for f in plan_document(plan)["changes"][0]["fields"]}
    assert set(fields["auth_password"]) == {"path", "before", "after", "sensitive"}
    assert fields["auth_password"]["sensitive"] and len(fields["auth_password"]["after"]) == 8
    text = TextRenderer().render(plan)
    assert "new-pass" not in text and "new-pass" not in json.dumps(plan_document(plan))
    assert f"    + auth_password = (sensitive, changed) (unset) -> {fields['auth_password']['after']}" in text


def test_unmanaged_drift_fields_diff_per_element():
    inv = inventory([live_trunk("ST_b", "twilio", numbers(100, 102))])
    plan = plan_of(state(inbound("twilio", numbers(100, 103), managed=False)), inv)
    text = TextRenderer().render(plan)
    assert '    + numbers: +"+15105550103"' in text
    md = MarkdownRenderer().render(plan)
    assert '  - `+ numbers: +"+15105550103"`' in md
    assert plan_document(plan)["unmanaged"][0]["fields"][0]["added"] == ["+15105550103"]


# -- route impact groups ------------------------------------------------------------------


def test_a_moved_range_is_one_route_row_and_a_gap_starts_another():
    live = numbers(100, 119) + ["+15105550150"]
    want = [inbound("twilio", numbers(100, 101)), inbound("telnyx", numbers(102, 119) + ["+15105550150"], line=9)]
    plan = plan_of(state(*want, rule("support", ["twilio"])), owned_twilio(live))
    assert len(plan.route_changes) == 19
    text = TextRenderer().render(plan)
    before, after = "trunk twilio, rule support, room support", f"rejected ({NO_RULE})"
    impact = text.split("Route impact (inbound calls):\n")[1].splitlines()
    assert impact[:3] == [
        f"  +15105550102..+15105550119 (18 numbers): {before} -> {after}",
        f"  +15105550150: {before} -> {after}",
        "Needs --force: the plan unroutes 19 routed number(s): +15105550102..+15105550119, +15105550150",
    ]
    md = MarkdownRenderer().render(plan)
    assert f"| `+15105550102..+15105550119 (18 numbers)` | {before} | {after} |" in md
    assert len(plan_document(plan)["route_impact"]) == 19  # JSON keeps one row per number


def test_groups_break_on_a_different_outcome_and_never_join_unlike_numbers():
    a, b = RouteOutcome("t", "r", "room"), RouteOutcome(rejection=NO_RULE)
    c = RouteOutcome("t", "r2", "room2")
    changes = (
        RouteChange("+15105550100", a, b),
        RouteChange("+1 510 555 0101", a, b),  # spelled differently, still the next number
        RouteChange("+15105550102", a, c),
        RouteChange("+15105550103", a, c),
        RouteChange("+151055501040", a, c),  # longer: not the next number
        RouteChange("alice", a, c),
        RouteChange("bob", a, c),
    )
    assert [(g.label, g.after) for g in group_route_changes(changes)] == [
        ("+15105550100..+1 510 555 0101 (2 numbers)", b),
        ("+15105550102..+15105550103 (2 numbers)", c),
        ("+151055501040", c),
        ("alice", c),
        ("bob", c),
    ]
