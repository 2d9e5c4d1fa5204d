"""`sipconf status` against `sipconf up` over real HTTP: two projects applied with `sipconf
apply`, one trunk created by hand through livekit-api; every object listed by name with its
owner, as text tables and as JSON, with no secret in either."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import pytest
from livekit import api
from livekit.protocol import sip

from sipconf.cli import main
from tests.local.up_process import Up, clean_env, start_up

PASSWORD = "status-test-password-6e1f"
ACME = """\
version: 1
project: acme
trunks:
  twilio:
    inbound:
      numbers: ["+15105550100..+15105550119", "+15105550150"]
      allowed_addresses: ["127.0.0.11/32"]
    outbound:
      address: 127.0.0.21:5070
      transport: tcp
      numbers: ["+15105550100"]
      auth: {username: acme, password: {env: STATUS_TEST_PASSWORD}}
dispatch_rules:
  support:
    trunks: [twilio]
    numbers: ["+15105550100"]
    individual: {room_prefix: support}
  vip:
    trunks: [twilio]
    numbers: ["+15105550101"]
    direct: {room: vip, pin: "4321"}
"""
BETA = """\
version: 1
project: beta
trunks:
  lab:
    inbound: {numbers: ["+16465550100"], allowed_addresses: ["127.0.0.5/32"]}
dispatch_rules:
  lab-room:
    direct: {room: lab}
"""
EVIL = "hand\x1b[31mmade"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """`sipconf up` holding acme's and beta's objects and one unmanaged trunk; yields (up, ids by name)."""
    folder = tmp_path_factory.mktemp("status")
    up = start_up(folder / "s.db")
    try:
        for name, text in (("acme.yaml", ACME), ("beta.yaml", BETA)):
            (folder / name).write_text(text)
            applied = up.sipconf("apply", name, "--auto-approve", cwd=folder,
                                 env={**clean_env(), "STATUS_TEST_PASSWORD": PASSWORD})
            assert applied.returncode == 0, applied.stderr

        async def read_ids():
            async with api.LiveKitAPI(*up.credentials) as lk:
                await lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(
                    trunk=sip.SIPInboundTrunkInfo(name=EVIL, numbers=["+17185550100"])))
                items = [*(await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items,
                         *(await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest())).items]
                rules = (await lk.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())).items
            ids = {("trunk", t.name, type(t).__name__): t.sip_trunk_id for t in items}
            ids.update({("rule", r.name, ""): r.sip_dispatch_rule_id for r in rules})
            return ids

        yield up, asyncio.run(asyncio.wait_for(read_ids(), 30))
    finally:
        up.kill()


def _id(ids, kind, name, message=""):
    return ids[(kind, name, message)]


def _rows(text: str, title: str) -> list[list[str]]:
    """The rows under `title` (heading line first), cells split on runs of two spaces."""
    block = text.split(f"\n{title} (", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [re.split(r"\s{2,}", line.strip()) for line in block]


def test_text_lists_each_kind_by_name_with_its_owner(live):
    up, ids = live
    run = up.sipconf("status", "--project", "acme")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    url = up.credentials[0]
    assert out.splitlines()[0] == f"Project acme at {url}"
    assert _rows(out, "Inbound trunks") == [
        ["NAME", "OWNER", "ID", "NUMBERS", "ALLOWED ADDRESSES", "ALLOWED NUMBERS", "AUTH"],
        ["hand\\x1b[31mmade", "unmanaged", _id(ids, "trunk", EVIL, "SIPInboundTrunkInfo"), "+17185550100", "-", "-", "-"],
        ["lab", "project beta", _id(ids, "trunk", "lab", "SIPInboundTrunkInfo"), "+16465550100", "127.0.0.5/32", "-", "-"],
        ["twilio", "managed", _id(ids, "trunk", "twilio", "SIPInboundTrunkInfo"),
         "+15105550100..+15105550119, +15105550150", "127.0.0.11/32", "-", "-"],
    ]
    assert _rows(out, "Outbound trunks") == [
        ["NAME", "OWNER", "ID", "ADDRESS", "TRANSPORT", "NUMBERS", "AUTH"],
        ["twilio", "managed", _id(ids, "trunk", "twilio", "SIPOutboundTrunkInfo"), "127.0.0.21:5070", "tcp",
         "+15105550100", "acme / ****"],
    ]
    assert _rows(out, "Dispatch rules") == [
        ["NAME", "OWNER", "ID", "TRUNKS", "KIND", "ROOM", "PIN", "NUMBERS", "CALLERS"],
        ["lab-room", "project beta", _id(ids, "rule", "lab-room"), "any", "direct", "lab", "-", "-", "-"],
        ["support", "managed", _id(ids, "rule", "support"), "twilio", "individual", "support", "-", "+15105550100", "-"],
        ["vip", "managed", _id(ids, "rule", "vip"), "twilio", "direct", "vip", "yes", "+15105550101", "-"],
    ]
    assert out.splitlines()[-1] == (
        "Ledgers: acme (this project) in 1 trunk; beta in 1 trunk"
        " (outbound trunks named sipconf-ledger:<project>, docs/ownership.md)"
    )
    assert all(line.isprintable() for line in out.splitlines())
    assert PASSWORD not in out and "4321" not in out


def test_json_has_the_same_rows_with_every_number(live):
    up, ids = live
    run = up.sipconf("status", "--project", "beta", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert (doc["url"], doc["project"]) == (up.credentials[0], "beta")
    assert [(r["name"], r["owner"], r["project"]) for r in doc["inbound_trunks"]] == [
        (EVIL, "unmanaged", None), ("lab", "managed", "beta"), ("twilio", "other-project", "acme"),
    ]
    [lab] = [r for r in doc["inbound_trunks"] if r["name"] == "lab"]
    assert lab == {
        "name": "lab", "id": _id(ids, "trunk", "lab", "SIPInboundTrunkInfo"), "owner": "managed", "project": "beta",
        "numbers": ["+16465550100"], "allowed_addresses": ["127.0.0.5/32"], "allowed_numbers": [], "auth": "",
    }
    [vip] = [r for r in doc["dispatch_rules"] if r["name"] == "vip"]
    assert (vip["owner"], vip["project"], vip["pin"], vip["trunks"]) == ("other-project", "acme", True, ["twilio"])
    assert sorted(doc["ledgers"]) == ["acme", "beta"]
    assert PASSWORD not in run.stdout and "4321" not in run.stdout


def test_two_projects_in_one_target_need_project(live):
    up, _ids = live
    run = up.sipconf("status")
    assert run.returncode == 1
    assert run.stderr.splitlines() == ["the live project holds several sipconf projects (acme, beta); pass --project"]


def test_the_target_can_come_from_flags(live, capsys):
    """The same Target and resolver as plan and apply: --url, --api-key, --api-secret (the CLI
    in this process, the server in its own)."""
    up, ids = live
    url, key, secret = up.credentials
    code = main(["status", "--project", "beta", "--url", url, "--api-key", key, "--api-secret", secret])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == f"Project beta at {url}"
    assert ["lab", "managed", _id(ids, "trunk", "lab", "SIPInboundTrunkInfo"), "+16465550100", "127.0.0.5/32", "-", "-"] \
        in _rows(out, "Inbound trunks")


def test_no_target_is_one_line():
    run = subprocess.run([sys.executable, "-m", "sipconf", "status"], capture_output=True, text=True,
                         env=clean_env(), timeout=60)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "no LiveKit target: set LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET (or pass --url, --api-key and"
        " --api-secret); `sipconf up` prints the values for the embedded control plane"
    ]


def test_an_empty_target_says_nothing_is_managed(tmp_path):
    up: Up = start_up(tmp_path / "s.db")
    try:
        run = up.sipconf("status")
    finally:
        up.kill()
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1:] == [
        "", "Inbound trunks (0)", "  (none)", "", "Outbound trunks (0)", "  (none)", "", "Dispatch rules (0)", "  (none)",
        "", "No sipconf ledger in this target: nothing here is managed by project default yet.",
    ]
