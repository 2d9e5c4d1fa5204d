"""`plan --only NAME` / `apply --only NAME` against `sipconf up` (a real process, the real
livekit-api client): just the picked objects and the trunks their rules list change; rules left
out that use a picked trunk are listed; unknown names are one line each with a did-you-mean."""

from __future__ import annotations

import asyncio
import json

import pytest
from livekit import api
from livekit.protocol import sip

from tests.cli.test_plan_apply import DEMO_SECRETS, SPEC_TEXT
from tests.local.up_process import clean_env, start_up


@pytest.fixture
def up(tmp_path):
    server = start_up(tmp_path / "state.db")
    (tmp_path / "spec.yaml").write_text(SPEC_TEXT)
    env = {**clean_env(), **DEMO_SECRETS, "SIPCONF_LOCK_DIR": str(tmp_path / "locks")}

    def sipconf(*args: str):
        return server.sipconf(*args, env=env, cwd=tmp_path)

    try:
        yield server, sipconf
    finally:
        server.kill()


def live_names(server) -> list[str]:
    async def read():
        async with api.LiveKitAPI(*server.credentials) as lk:
            inbound = (await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items
            outbound = (await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest())).items
            rules = (await lk.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())).items
        return sorted([f"in:{t.name}" for t in inbound] + [f"out:{t.name}" for t in outbound if not t.name.startswith("sipconf-ledger")]
                      + [f"rule:{r.name}" for r in rules])

    return asyncio.run(asyncio.wait_for(read(), 30))


def test_only_a_rule_applies_it_and_the_trunk_it_lists_and_nothing_else(up):
    server, sipconf = up
    plan = sipconf("plan", "spec.yaml", "--only", "support")
    assert plan.returncode == 0, plan.stderr
    headings = [line for line in plan.stdout.splitlines() if line[:2] in ("+ ", "~ ", "- ")]
    assert headings == ["+ trunks.twilio.inbound  # spec.yaml:5", "+ dispatch_rules.support  # spec.yaml:28"]
    assert (
        "Only support (--only): 6 other change(s) of the spec left out.\n"
        "Not changed by --only, though they use a picked trunk:\n"
        "  dispatch_rules.sales uses trunks.twilio.inbound\n"
        "\nPlan: 2 to create, 0 to update, 0 to delete.\n"
    ) in plan.stdout
    applied = sipconf("apply", "spec.yaml", "--only", "support", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[-2:] == ["Applied 2 change(s).", "Read back: the picked objects match the spec."]
    assert live_names(server) == ["in:twilio", "rule:support"]
    again = sipconf("plan", "spec.yaml", "--only", "support", "--detailed-exitcode")
    assert again.returncode == 0
    assert again.stdout.splitlines()[-1] == "No changes to support; 6 other change(s) of the spec left out."
    # The rest of the spec is still to do, and a whole apply does it.
    assert sipconf("plan", "spec.yaml", "--detailed-exitcode").returncode == 2
    assert sipconf("apply", "spec.yaml", "--auto-approve").returncode == 0


def test_only_a_trunk_updates_both_halves_and_lists_the_rules_that_use_it(up, tmp_path):
    server, sipconf = up
    assert sipconf("apply", "spec.yaml", "--auto-approve").returncode == 0
    edited = SPEC_TEXT.replace('"+15105550100..+15105550103"', '"+15105550100..+15105550104"').replace(
        "address: 127.0.0.21:5070", "address: 127.0.0.23:5070").replace("room_prefix: sales", "room_prefix: sold")
    (tmp_path / "spec.yaml").write_text(edited)
    plan = sipconf("plan", "spec.yaml", "--only", "twilio", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    doc = json.loads(plan.stdout)
    assert [(c["action"], c["path"]) for c in doc["changes"]] == [
        ("update", "trunks.twilio.inbound"), ("update", "trunks.twilio.outbound"),
    ]
    assert doc["only"] == {
        "names": ["twilio"],
        "dependents": [
            {"kind": "dispatch_rule", "name": "sales", "path": "dispatch_rules.sales", "uses": ["twilio"]},
            {"kind": "dispatch_rule", "name": "support", "path": "dispatch_rules.support", "uses": ["twilio"]},
        ],
        "left_out": 1,  # the sales rule's room prefix
    }
    assert sipconf("apply", "spec.yaml", "--only", "twilio", "--auto-approve").returncode == 0
    rest = sipconf("plan", "spec.yaml", "--format", "json")
    assert [(c["action"], c["path"]) for c in json.loads(rest.stdout)["changes"]] == [("update", "dispatch_rules.sales")]
    assert json.loads(rest.stdout)["only"] is None


def test_a_saved_plan_keeps_its_only(up):
    server, sipconf = up
    saved = sipconf("plan", "spec.yaml", "--only", "telnyx", "--out", "plan.json")
    assert saved.returncode == 0, saved.stderr
    shown = sipconf("show", "plan.json")
    assert "Only telnyx (--only): 6 other change(s) of the spec left out.\n" in shown.stdout
    applied = sipconf("apply", "plan.json")
    assert applied.returncode == 0, applied.stderr
    assert live_names(server) == ["in:telnyx", "out:telnyx"]
    refused = sipconf("apply", "plan.json", "--only", "twilio")
    assert (refused.returncode, refused.stderr) == (
        1, "--only goes with a spec; plan.json is a saved plan, which keeps the --only it was made with\n",
    )


def test_unknown_names_are_one_line_each_with_a_did_you_mean_and_nothing_changes(up):
    server, sipconf = up
    for command in (["plan", "spec.yaml"], ["apply", "spec.yaml", "--auto-approve"]):
        run = sipconf(*command, "--only", "suport", "--only", "telnyx", "--only", "zzz")
        assert run.returncode == 1
        assert run.stderr == (
            "--only suport: no object is named 'suport'; did you mean 'support'?\n"
            "--only zzz: no object is named 'zzz'; it names no trunk or dispatch rule of the spec or the live project\n"
        )
    assert live_names(server) == []
