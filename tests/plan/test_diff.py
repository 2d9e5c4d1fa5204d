from __future__ import annotations

import pytest

from sipconf.errors import UserError
from sipconf.plan.changes import fingerprint
from sipconf.plan.plan import make_plan
from tests.plan.helpers import inbound, inventory, live_rule, live_trunk, rule, state

KEY = "k" * 32


def plan_of(desired, inv):
    return make_plan(desired, inv, url="http://127.0.0.1:1", key=KEY)


def test_empty_live_plans_creates_in_apply_order():
    plan = plan_of(state(rule("support", ["twilio"]), inbound("twilio")), inventory())
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        ("create", "inbound_trunk", "twilio"),
        ("create", "dispatch_rule", "support"),
    ]
    fields = {f.path: f.after for f in plan.changes[1].fields}
    assert fields == {
        "name": "support",
        "rule.dispatch_rule_direct.room_name": "support",
        "trunk_ids": ["twilio"],
    }


def test_equal_owned_objects_plan_no_change_and_empty_media_equals_absent():
    inv = inventory(
        [live_trunk("ST_a", "twilio")],
        [live_rule("SDR_r", "support", ["ST_a"])],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")],
    )
    plan = plan_of(state(inbound("twilio"), rule("support", ["twilio"])), inv)
    assert plan.empty
    assert plan.route_changes == ()


def test_owned_object_missing_from_spec_is_deleted_and_unowned_is_listed():
    inv = inventory(
        [live_trunk("ST_a", "twilio"), live_trunk("ST_b", "other", ["+15105550199"])],
        owned=[("inbound_trunk", "twilio", "ST_a")],
    )
    plan = plan_of(state(), inv)
    assert [(c.action, c.name, c.live_id) for c in plan.changes] == [("delete", "twilio", "ST_a")]
    assert [(u.name, u.status) for u in plan.unmanaged] == [("other", "not-in-spec")]
    assert plan.force_reasons() == ["the plan deletes 1 of 1 managed objects (100%, over 30%)"]


def test_unowned_twin_that_differs_points_at_import_adopt():
    inv = inventory([live_trunk("ST_b", "twilio", ["+15105550199"])])
    with pytest.raises(UserError) as err:
        plan_of(state(inbound("twilio")), inv)
    assert err.value.lines == (
        "spec.yaml:2:3: inbound trunk 'twilio' exists live as ST_b, which sipconf does not own, and differs"
        " from the spec; run `sipconf import --adopt twilio` to take it over",
    )


def test_unowned_twin_that_matches_is_no_change():
    plan = plan_of(state(inbound("twilio")), inventory([live_trunk("ST_b", "twilio")]))
    assert plan.empty
    assert [(u.name, u.status) for u in plan.unmanaged] == [("twilio", "matches")]


def test_two_live_objects_with_one_name_name_both_ids():
    inv = inventory([live_trunk("ST_b", "twilio"), live_trunk("ST_a", "twilio", ["+1"])])
    with pytest.raises(UserError) as err:
        plan_of(state(inbound("twilio")), inv)
    assert err.value.lines == (
        "spec.yaml:2:3: two live inbound trunks are named 'twilio': ST_a and ST_b; rename or delete one of"
        " them in LiveKit so the name identifies one object",
    )


def test_secrets_are_fingerprinted_never_shown():
    inv = inventory([live_trunk("ST_a", "twilio", password="old-pass")], owned=[("inbound_trunk", "twilio", "ST_a")])
    plan = plan_of(state(inbound("twilio", password="new-pass")), inv)
    (change,) = plan.changes
    (field,) = change.fields
    assert field.sensitive and field.path == "auth_password"
    assert (field.before, field.after) == (fingerprint(KEY, "old-pass"), fingerprint(KEY, "new-pass"))
    assert "old-pass" not in repr(plan.changes) and "new-pass" not in repr(plan.changes)


def test_route_impact_shows_unrouted_number_and_needs_force():
    inv = inventory(
        [live_trunk("ST_a", "twilio")],
        [live_rule("SDR_r", "support", ["ST_a"])],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")],
    )
    plan = plan_of(state(inbound("twilio")), inv)
    (rc,) = plan.route_changes
    assert rc.number == "+15105550100"
    assert rc.before.describe() == "trunk twilio, rule support, room support"
    assert rc.after.describe() == "rejected (404 Does not match Trunks or Dispatch Rules)"
    assert "the plan unroutes 1 routed number(s): +15105550100" in plan.force_reasons()


def test_pending_create_left_by_a_killed_apply_is_adopted():
    inv = inventory([live_trunk("ST_a", "twilio")], pending=[("inbound_trunk", "twilio")])
    plan = plan_of(state(inbound("twilio")), inv)
    assert plan.empty
    assert inv.one("inbound_trunk", "twilio").adopted
