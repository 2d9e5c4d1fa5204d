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
    assert fields == {"direct.room": "support", "trunks": ["twilio"]}  # spec paths; the name is the key


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
    assert field.sensitive and field.path == "auth.password"
    assert (field.before, field.after) == (fingerprint(KEY, "old-pass"), fingerprint(KEY, "new-pass"))
    assert "old-pass" not in repr(plan.changes) and "new-pass" not in repr(plan.changes)


def test_a_pin_change_carries_no_fingerprint_only_that_it_changed():
    inv = inventory(
        [live_trunk("ST_a", "twilio")],
        [live_rule("SDR_r", "support", ["ST_a"], pin="1234")],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")],
    )
    plan = plan_of(state(inbound("twilio"), rule("support", ["twilio"], pin="4321")), inv)
    (change,) = plan.changes
    (field,) = change.fields
    assert (field.path, field.before, field.after, field.rotated, field.changed) == ("direct.pin", "set", "set", True, True)
    assert fingerprint(KEY, "4321") not in repr(plan) and fingerprint(KEY, "1234") not in repr(plan)


def test_route_impact_shows_unrouted_number_and_needs_force():
    inv = inventory(
        [live_trunk("ST_a", "twilio")],
        [live_rule("SDR_r", "support", ["ST_a"])],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")],
    )
    plan = plan_of(state(inbound("twilio")), inv)
    (rc,) = plan.route_changes
    assert rc.numbers == ("+15105550100",) and (rc.sources, rc.callers) == (None, None)
    assert rc.before.describe() == "trunk twilio, rule support, room support"
    assert rc.after.describe() == "rejected (404 Does not match Trunks or Dispatch Rules)"
    assert "the plan unroutes 1 routed number(s): +15105550100" in plan.force_reasons()


def test_pending_create_left_by_a_killed_apply_is_adopted():
    inv = inventory([live_trunk("ST_a", "twilio")], pending=[("inbound_trunk", "twilio")])
    plan = plan_of(state(inbound("twilio")), inv)
    assert plan.empty
    assert inv.one("inbound_trunk", "twilio").adopted


# -- `managed: false` spec objects: never created, updated or deleted ------------------------


def test_managed_false_unowned_twin_that_differs_is_unmanaged_drift_not_an_error():
    inv = inventory([live_trunk("ST_b", "twilio", ["+15105550199"])])
    plan = plan_of(state(inbound("twilio", managed=False)), inv)
    assert plan.empty and plan.route_changes == ()
    (note,) = plan.unmanaged
    assert (note.name, note.live_id, note.status) == ("twilio", "ST_b", "differs")
    assert [(f.path, f.before, f.after) for f in note.fields] == [("numbers", ["+15105550199"], ["+15105550100"])]
    from sipconf.plan.render.text import TextRenderer

    text = TextRenderer().render(plan)
    assert "trunks.twilio.inbound (ST_b): differs (managed: false" in text
    assert "    + numbers: +15105550100\n    - numbers: +15105550199\n" in text
    assert text.splitlines()[-1] == "No changes. The live project matches the spec."


def test_managed_false_without_a_live_twin_is_a_note_not_a_create():
    plan = plan_of(state(inbound("twilio", managed=False), rule("support", ["twilio"], managed=False)), inventory())
    assert plan.empty and plan.route_changes == ()
    assert [(u.kind, u.name, u.live_id, u.status) for u in plan.unmanaged] == [
        ("dispatch_rule", "support", "", "missing"),
        ("inbound_trunk", "twilio", "", "missing"),
    ]


def test_managed_false_on_an_owned_object_neither_updates_nor_deletes_it():
    inv = inventory(
        [live_trunk("ST_a", "twilio", ["+15105550199"])],
        [live_rule("SDR_r", "support", ["ST_a"])],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "support", "SDR_r")],
    )
    plan = plan_of(state(inbound("twilio", managed=False), rule("support", ["twilio"], room="other", managed=False)), inv)
    assert plan.empty and plan.route_changes == () and plan.force_reasons() == []
    assert [(u.name, u.status, u.owner) for u in plan.unmanaged] == [("support", "differs", "acme"), ("twilio", "differs", "acme")]


def test_managed_false_secret_that_does_not_resolve_counts_as_unchanged():
    from types import MappingProxyType

    from sipconf.model import SecretRef

    obj = inbound("twilio", password="x", managed=False)
    ref = {"auth_password": SecretRef(env="SIPCONF_TEST_UNSET_PASSWORD")}
    obj = type(obj)(obj.kind, obj.name, obj.origin, obj.message, MappingProxyType(ref), managed=False)
    inv = inventory([live_trunk("ST_b", "twilio", password="live-pass")])
    plan = make_plan(state(obj), inv, url="http://127.0.0.1:1", key=KEY, environ={})
    assert [(u.name, u.status) for u in plan.unmanaged] == [("twilio", "matches")]
    plan = make_plan(state(obj), inv, url="http://127.0.0.1:1", key=KEY, environ={"SIPCONF_TEST_UNSET_PASSWORD": "other"})
    (note,) = plan.unmanaged
    assert note.status == "differs" and [f.path for f in note.fields] == ["auth.password"]
    assert "live-pass" not in repr(plan) and "other" not in repr(note.fields)


def test_managed_false_spec_loads_into_desired_objects():
    from sipconf.spec import loads

    desired = loads(
        "version: 1\nproject: acme\ntrunks:\n  twilio:\n    inbound: {managed: false, numbers: ['+15105550100']}\n"
        "    outbound: {address: 127.0.0.1, managed: false}\n"
        "dispatch_rules:\n  support: {managed: false, direct: {room: support}}\n  sales: {direct: {room: sales}}\n",
        "spec.yaml",
    )
    assert {(o.kind, o.name): o.managed for o in desired.objects()} == {
        ("inbound_trunk", "twilio"): False,
        ("outbound_trunk", "twilio"): False,
        ("dispatch_rule", "support"): False,
        ("dispatch_rule", "sales"): True,
    }
