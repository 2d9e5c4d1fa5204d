"""`sipconf import` of a project holding objects sipconf does not own: they are written as
spec entries marked `managed: false`, and `--adopt` makes them managed. The real livekit-api
client against the embedded control plane on 127.0.0.1:0 (as tests/plan/conftest.py)."""

from __future__ import annotations

import asyncio

import pytest
from livekit.protocol import sip
from ruamel.yaml import YAML

from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.target import Target
from sipconf.local.server import ControlPlane
from sipconf.plan.importer import import_live, render_yaml
from sipconf.plan.inventory import classify
from sipconf.plan.workflow import apply_against, plan_against
from sipconf.spec import loads

KEY = "importkey"
SECRET = "import-test-secret-long-enough-for-hs256-0123456"
SPEC = """\
version: 1
project: acme
trunks:
  twilio:
    inbound: {numbers: ["+15105550100"]}
dispatch_rules:
  support:
    trunks: [twilio, hand-made]
    numbers: ["+15105550100"]
    direct: {room: support}
"""


@pytest.fixture
def serve(tmp_path, monkeypatch):
    monkeypatch.setenv("SIPCONF_LOCK_DIR", str(tmp_path / "locks"))

    def run(scenario) -> None:
        async def main() -> None:
            async with ControlPlane(state_path=tmp_path / "state.db", api_key=KEY, api_secret=SECRET) as cp:
                await scenario(Target(cp.url, KEY, SECRET))

        asyncio.run(main())

    return run


async def seed(target: Target) -> sip.SIPInboundTrunkInfo:
    """An inbound trunk and a dispatch rule made by hand, then the spec (whose managed rule
    also names the hand-made trunk) applied."""
    async with LiveKitAdapter(target) as lk:
        hand = await lk.create(
            "inbound_trunk",
            sip.SIPInboundTrunkInfo(name="hand-made", numbers=["+15105550900"], auth_username="u", auth_password="hand-pass"),
        )
        other = sip.SIPDispatchRuleInfo(name="other-rule", trunk_ids=[hand.sip_trunk_id], numbers=["+15105550900"])
        other.rule.dispatch_rule_direct.room_name = "other"
        await lk.create("dispatch_rule", other)
    await apply_against(loads(SPEC, "spec.yaml"), target, environ={})
    return hand


async def owned_names(target: Target) -> set[str]:
    async with LiveKitAdapter(target) as lk:
        return {o.name for o in classify(await lk.fetch(), "acme").owned()}


def test_import_writes_unowned_objects_as_managed_false_and_plans_no_changes(serve):
    async def scenario(target):
        hand = await seed(target)
        result = await import_live(target, project="acme")
        text = render_yaml(result)
        assert "# " not in text.split("version: 1")[1].split("hand-made:")[0]  # no commented-out section
        assert "managed: false  # not owned by sipconf: never changed; `sipconf import --adopt hand-made`" in text
        assert sorted(result.unmanaged) == [("dispatch_rule", "other-rule"), ("inbound_trunk", "hand-made")]
        assert ("HAND_MADE_INBOUND_PASSWORD", "password of the inbound trunk hand-made; unmanaged, optional") in result.variables
        desired = loads(text, "imported.yaml")
        assert {(o.kind, o.name): o.managed for o in desired.objects()} == {
            ("inbound_trunk", "twilio"): True,
            ("inbound_trunk", "hand-made"): False,
            ("dispatch_rule", "support"): True,
            ("dispatch_rule", "other-rule"): False,
        }
        assert list(desired.find("dispatch_rule", "support").message.trunk_ids) == ["twilio", "hand-made"]
        # Its password variable unset: compared as unchanged. Set: compared.
        for environ in ({}, {"HAND_MADE_INBOUND_PASSWORD": "hand-pass"}):
            plan = await plan_against(desired, target, environ=environ)
            assert plan.empty and plan.route_changes == ()
            assert [(u.name, u.status, u.live_id) for u in plan.unmanaged if u.name == "hand-made"] == [
                ("hand-made", "matches", hand.sip_trunk_id)
            ]
            assert {u.status for u in plan.unmanaged} == {"matches"}
        plan = await plan_against(desired, target, environ={"HAND_MADE_INBOUND_PASSWORD": "rotated"})
        assert plan.empty and [u.status for u in plan.unmanaged if u.name == "hand-made"] == ["differs"]
        # Applying the imported spec changes nothing and never takes the objects over.
        result = await apply_against(desired, target, environ={})
        assert result.applied == 0
        assert await owned_names(target) == {"twilio", "support"}

    serve(scenario)


def test_import_adopt_makes_the_unowned_object_managed(serve):
    async def scenario(target):
        hand = await seed(target)
        result = await import_live(target, project="acme", adopt_names=["hand-made"])
        text = render_yaml(result)
        desired = loads(text, "imported.yaml")
        assert desired.find("inbound_trunk", "hand-made").managed is True
        assert desired.find("dispatch_rule", "other-rule").managed is False
        assert result.unmanaged == [("dispatch_rule", "other-rule")]
        assert "--adopt hand-made" not in text and "--adopt other-rule" in text
        assert await owned_names(target) == {"twilio", "support", "hand-made"}
        plan = await plan_against(desired, target, environ={"HAND_MADE_INBOUND_PASSWORD": "hand-pass"})
        assert plan.empty and [(u.name, u.status) for u in plan.unmanaged] == [("other-rule", "matches")]
        # Now managed: an edit of the spec updates it (the live id stays the one adopted).
        edited = loads(text.replace("'+15105550900'", "'+15105550901'", 1), "edited.yaml")
        plan = await plan_against(edited, target, environ={"HAND_MADE_INBOUND_PASSWORD": "hand-pass"})
        assert [(c.action, c.name, c.live_id) for c in plan.changes] == [("update", "hand-made", hand.sip_trunk_id)]
        # --adopt alone takes everything else.
        result = await import_live(target, project="acme", adopt_names=[])
        assert result.unmanaged == [] and "managed:" not in render_yaml(result)
        assert await owned_names(target) == {"twilio", "support", "hand-made", "other-rule"}

    serve(scenario)


def test_import_writes_consecutive_numbers_as_ranges_and_plans_no_change(serve):
    spec = """\
version: 1
project: acme
trunks:
  twilio:
    inbound:
      numbers: ["+15105550100..+15105550119", "+15105550150", "+15105550152"]
      allowed_numbers: ["+14085550000..+14085550099"]
dispatch_rules:
  support:
    trunks: [twilio]
    numbers: ["+15105550100..+15105550104"]
    inbound_numbers: ["+14085550000..+14085550009"]
    direct: {room: support}
"""

    async def scenario(target):
        desired = loads(spec, "spec.yaml")
        await apply_against(desired, target, environ={})
        text = render_yaml(await import_live(target, project="acme"))
        doc = YAML(typ="safe").load(text)
        trunk, rule = doc["trunks"]["twilio"]["inbound"], doc["dispatch_rules"]["support"]
        assert trunk["numbers"] == ["+15105550100..+15105550119", "+15105550150", "+15105550152"]
        assert trunk["allowed_numbers"] == ["+14085550000..+14085550099"]
        assert (rule["numbers"], rule["inbound_numbers"]) == (["+15105550100..+15105550104"], ["+14085550000..+14085550009"])
        plan = await plan_against(loads(text, "imported.yaml"), target, environ={})
        assert plan.empty and plan.route_changes == ()


VOXBONE_SPEC = """\
version: 1
project: acme
trunks:
  voxbone:
    inbound:
      numbers: ["+4930555000"]
      auth: {username: acme, password: {env: VOXBONE_SIP_PASSWORD}}
    outbound:
      address: 127.0.0.31:5060
      numbers: ["+4930555000"]
      auth: {username: acme, password: {env: VOXBONE_SIP_PASSWORD}}
  sipgate:
    outbound:
      address: 127.0.0.32:5060
      numbers: ["+4930555001"]
      auth: {username: acme, password: {file: sipgate-password.txt}}
dispatch_rules:
  vip:
    trunks: [voxbone]
    direct: {room: vip, pin: {env: VIP_ROOM_PIN}}
"""


def test_import_writes_the_secret_names_the_spec_used_and_its_plan_is_empty(serve, tmp_path):
    environ = {"VOXBONE_SIP_PASSWORD": "vox-pass", "VIP_ROOM_PIN": "2468"}
    password_file = tmp_path / "sipgate-password.txt"
    password_file.write_text("s1pg4te-value\n")

    async def scenario(target):
        await apply_against(loads(VOXBONE_SPEC, str(tmp_path / "spec.yaml")), target, environ=environ)
        result = await import_live(target, project="acme")
        text = render_yaml(result)
        assert "vox-pass" not in text and "2468" not in text and "s1pg4te-value" not in text
        assert text.count("env: VOXBONE_SIP_PASSWORD") == 2 and "env: VIP_ROOM_PIN" in text
        assert f"file: {password_file}" in text
        assert "VOXBONE_INBOUND_PASSWORD" not in text and "VOXBONE_OUTBOUND_PASSWORD" not in text
        assert result.variables == [
            ("VOXBONE_SIP_PASSWORD", "password of the inbound trunk voxbone"),
            ("VIP_ROOM_PIN", "PIN of dispatch rule vip"),
        ]
        imported = loads(text, "imported.yaml")
        refs = {(o.name, path): ref.env for o in imported.objects() for path, ref in o.secrets.items()}
        assert imported.find("outbound_trunk", "sipgate").secrets["auth_password"].file == str(password_file)
        assert refs == {
            ("sipgate", "auth_password"): None,
            ("voxbone", "auth_password"): "VOXBONE_SIP_PASSWORD",
            ("vip", "rule.dispatch_rule_direct.pin"): "VIP_ROOM_PIN",
        }
        plan = await plan_against(imported, target, environ=environ)
        assert plan.empty and plan.unmanaged == ()

    serve(scenario)
