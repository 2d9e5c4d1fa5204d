"""`sipconf plan` / `apply` / `import` end to end: the CLI in-process (and once as a process
killed with SIGKILL), the real livekit-api client, the embedded control plane on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sipconf.cli import main
from sipconf.local.server import ControlPlane

ROOT = Path(__file__).resolve().parents[2]
SPEC_TEXT = """\
version: 1
project: acme
trunks:
  twilio:
    inbound:
      numbers: ["+15105550100..+15105550103"]
      allowed_addresses: ["127.0.0.11/32"]
      headers_to_attributes: {X-Customer-Tier: customer.tier}
      include_headers: x-headers
      ringing_timeout: 30s
      metadata: {provider: twilio}
    outbound:
      address: 127.0.0.21:5070
      transport: udp
      numbers: ["+15105550100"]
      auth: {username: acme, password: {env: DEMO_TWILIO_PASSWORD}}
  telnyx:
    inbound:
      numbers: ["+14155550100", "+14155550101"]
      auth: {username: acme-telnyx, password: {env: DEMO_TELNYX_PASSWORD}, realm: sip.acme.test}
      media: {encryption: allow, timeout: 30s, codecs: [PCMU, PCMA]}
    outbound:
      address: 127.0.0.22:5070
      transport: tcp
      numbers: ["+14155550100"]
      auth: {username: acme-telnyx, password: {env: DEMO_TELNYX_PASSWORD}}
dispatch_rules:
  support:
    trunks: [twilio]
    numbers: ["+15105550100"]
    individual: {room_prefix: support}
    attributes: {team: support}
    room_config: {empty_timeout: 300, agents: [{agent_name: support-agent}]}
  sales:
    trunks: [twilio, telnyx]
    numbers: ["+15105550101", "+14155550101"]
    callee: {room_prefix: sales}
  all-hands:
    trunks: [telnyx]
    numbers: ["+14155550100"]
    direct: {room: all-hands, pin: "4321"}
    hide_phone_number: true
  board:
    trunks: [telnyx]
    numbers: ["+14155550100"]
    direct: {room: board, pin: {env: DEMO_BOARD_PIN}}
"""
KEY = "clikey"
SECRET = "cli-test-secret-long-enough-for-hs256-0123456789"
DEMO_SECRETS = {"DEMO_TWILIO_PASSWORD": "twilio-pass-1", "DEMO_TELNYX_PASSWORD": "telnyx-pass-1", "DEMO_BOARD_PIN": "9876"}


class Server:
    """The control plane on its own event loop in a thread, so the CLI can `asyncio.run`."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with ControlPlane(state_path=self.state_path, api_key=KEY, api_secret=SECRET) as cp:
            self.url = cp.url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> "Server":
        self._thread.start()
        assert self._ready.wait(10), "control plane did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC_TEXT)
    return path


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("SIPCONF_LOCK_DIR", str(tmp_path / "locks"))
    with Server(tmp_path / "state.db") as srv:
        monkeypatch.setenv("LIVEKIT_URL", srv.url)
        monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
        monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
        for name, value in DEMO_SECRETS.items():
            monkeypatch.setenv(name, value)
        yield srv


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_apply_plan_is_empty(server, spec, capsys):
    code, out, _ = run(capsys, "plan", str(spec), "--detailed-exitcode")
    assert code == 2
    assert out.splitlines()[0] == f"Target: {server.url}"
    assert f"+ trunks.twilio.inbound  # {spec}:5\n" in out
    assert "    + auth: {username: acme-telnyx, password: (sensitive) " in out
    assert "    + direct: {room: all-hands, pin: (sensitive)}\n" in out
    assert "twilio-pass-1" not in out and "4321" not in out
    code, out, _ = run(capsys, "apply", str(spec), "--auto-approve")
    assert code == 0, out
    assert "Read back: the live project matches the spec." in out
    code, out, _ = run(capsys, "plan", str(spec), "--detailed-exitcode")
    assert (code, out.splitlines()[-1]) == (0, "No changes. The live project matches the spec.")
    code, out, _ = run(capsys, "apply", str(spec), "--auto-approve")
    assert (code, out.splitlines()[-1]) == (0, "No changes. The live project matches the spec.")


def test_rotated_password_shows_fingerprints_and_json_has_format_version(server, spec, capsys, monkeypatch):
    run(capsys, "apply", str(spec), "--auto-approve")
    monkeypatch.setenv("DEMO_TELNYX_PASSWORD", "telnyx-pass-2")
    code, out, err = run(capsys, "plan", str(spec), "--format", "json", "--detailed-exitcode")
    assert code == 2 and err.splitlines()[0] == f"Target: {server.url}"
    doc = json.loads(out)
    assert doc["format_version"] == 2 and doc["summary"]["update"] == 2
    fields = [f for c in doc["changes"] for f in c["fields"] if f["path"] == "auth.password"]
    assert all(f["sensitive"] and f["changed"] and f["before"] != f["after"] and len(f["after"]) == 8 for f in fields)
    assert "telnyx-pass" not in out


def test_no_terminal_and_no_auto_approve_is_one_clear_line(server, spec, capsys, monkeypatch):
    with open(os.devnull) as no_terminal:
        monkeypatch.setattr(sys, "stdin", no_terminal)
        code, _out, err = run(capsys, "apply", str(spec))
    assert code == 1
    assert err == "no terminal to confirm the apply; review `sipconf plan` and pass --auto-approve\n"


def test_saved_plan_is_refused_after_a_live_change(server, spec, capsys, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(spec), "--out", str(plan_file))[0] == 0
    edited = tmp_path / "edited.yaml"
    edited.write_text(spec.read_text().replace("room: all-hands", "room: all-hands-2"))
    assert run(capsys, "apply", str(edited), "--auto-approve")[0] == 0
    code, _out, err = run(capsys, "apply", str(plan_file))
    assert code == 1
    assert err.startswith("the live project changed since this plan was made (sha256:")


def test_saved_plan_applies_when_nothing_changed(server, spec, capsys, tmp_path):
    plan_file = tmp_path / "plan.json"
    run(capsys, "plan", str(spec), "--out", str(plan_file))
    code, out, _ = run(capsys, "apply", str(plan_file))
    assert code == 0 and "Read back: the live project matches the spec." in out


def test_wrong_secret_is_one_line_naming_url_and_key(server, spec, capsys):
    code, _out, err = run(capsys, "plan", str(spec), "--api-secret", "w" * 40)
    assert code == 1
    assert err.startswith(f"authentication failed at {server.url} with API key 'clikey'")
    assert len(err.splitlines()) == 1


def test_pinned_environment_url_must_match(server, spec, capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nproject: p\nenvironments:\n  prod:\n    url: https://acme.livekit.cloud\n")
    code, _out, err = run(capsys, "plan", str(spec), "--env", "prod")
    assert code == 1
    assert err == (
        f"environment 'prod' is pinned to https://acme.livekit.cloud, but the target is {server.url};"
        " point LIVEKIT_URL (or --url) at https://acme.livekit.cloud\n"
    )


def test_import_then_plan_is_empty(server, spec, capsys, tmp_path):
    run(capsys, "apply", str(spec), "--auto-approve")
    out_file = tmp_path / "imported.yaml"
    code, _out, err = run(capsys, "import", "--out", str(out_file))
    assert code == 0
    text = out_file.read_text()
    assert "twilio-pass-1" not in text and "telnyx-pass-1" not in text and "9876" not in text
    # The spec's own secret names, which the ledger recorded; the PIN the spec wrote as a
    # literal has no name, so import invents one.
    assert "env: DEMO_TELNYX_PASSWORD" in text and "env: DEMO_BOARD_PIN" in text
    assert "TELNYX_INBOUND_PASSWORD" not in text
    assert err.splitlines()[-5:] == [
        "Set these environment variables (secrets are never exported) before `sipconf plan`:",
        "  DEMO_TELNYX_PASSWORD  (password of the inbound trunk telnyx)",
        "  DEMO_TWILIO_PASSWORD  (password of the outbound trunk twilio)",
        "  ALL_HANDS_PIN  (PIN of dispatch rule all-hands)",
        "  DEMO_BOARD_PIN  (PIN of dispatch rule board)",
    ]
    os.environ["ALL_HANDS_PIN"] = "4321"
    try:
        code, out, _ = run(capsys, "plan", str(out_file), "--detailed-exitcode")
    finally:
        os.environ.pop("ALL_HANDS_PIN", None)
    assert (code, out.splitlines()[-1]) == (0, "No changes. The live project matches the spec."), out


def test_kill_9_during_apply_then_rerun_converges(server, spec, tmp_path):
    env = dict(os.environ)
    with subprocess.Popen(
        [sys.executable, "-m", "sipconf", "apply", str(spec), "--auto-approve"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
    ) as proc:
        for line in proc.stdout:
            if line.startswith("[2/"):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(30)
    rerun = subprocess.run(
        [sys.executable, "-m", "sipconf", "apply", str(spec), "--auto-approve"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    final = subprocess.run(
        [sys.executable, "-m", "sipconf", "plan", str(spec), "--detailed-exitcode"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    assert final.returncode == 0, final.stdout
    import_ = subprocess.run(
        [sys.executable, "-m", "sipconf", "import"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    names = [line for line in import_.stdout.splitlines() if line.startswith("  ") and line.endswith(":") and not line.startswith("   ")]
    assert len(names) == len(set(names))  # no duplicate objects


def test_import_adopt_takes_ownership_and_unowned_objects_are_marked_unmanaged(server, spec, capsys, tmp_path):
    from livekit.protocol import sip

    from sipconf.livekit.adapter import LiveKitAdapter
    from sipconf.livekit.target import Target

    async def make():
        async with LiveKitAdapter(Target(server.url, KEY, SECRET)) as lk:
            await lk.create("inbound_trunk", sip.SIPInboundTrunkInfo(name="hand-made", numbers=["+15105550900"]))
            await lk.create("inbound_trunk", sip.SIPInboundTrunkInfo(name="other", numbers=["+15105550901"]))

    asyncio.run(make())
    code, out, _ = run(capsys, "import", "--adopt", "hand-made", "--project", "acme")
    assert code == 0
    from sipconf.spec import loads

    desired = loads(out, "imported.yaml")
    assert desired.find("inbound_trunk", "hand-made").managed is True
    assert desired.find("inbound_trunk", "other").managed is False
    assert "managed: false  # not owned by sipconf" in out
    imported = tmp_path / "imported.yaml"
    imported.write_text(out)
    code, out, _ = run(capsys, "plan", str(imported), "--detailed-exitcode")
    assert code == 0 and "  trunks.other.inbound (ST_" in out and "): matches\n" in out, out
    assert out.splitlines()[-1] == "No changes. The live project matches the spec."
    code, _out, err = run(capsys, "import", "--adopt", "nope", "--project", "acme")
    assert (code, err.splitlines()[-1]) == (1, "--adopt nope: no live trunk or dispatch rule is named 'nope'")


def test_plan_json_validates_against_the_documented_schema(server, spec, capsys, tmp_path, monkeypatch):
    from tests.json_schema import errors
    from tests.plan.test_plan_json_schema import SCHEMA, shapes

    run(capsys, "apply", str(spec), "--auto-approve")
    edited = tmp_path / "edited.yaml"
    text = spec.read_text()
    text = text.replace('"+15105550100..+15105550103"', '"+15105550100..+15105550104"')
    text = text.replace("{X-Customer-Tier: customer.tier}", "{X-Customer-Tier: customer.tier, X-Region: customer.region}")
    text = text.replace("      address: 127.0.0.22:5070\n", "      managed: false\n      address: 127.0.0.23:5070\n")
    text = text[: text.index("  sales:\n")] + text[text.index("  all-hands:\n") :]
    edited.write_text(text)
    monkeypatch.setenv("DEMO_TELNYX_PASSWORD", "telnyx-pass-2")
    code, out, _ = run(capsys, "plan", str(edited), "--format", "json", "--detailed-exitcode")
    assert code == 2
    doc = json.loads(out)
    assert shapes(doc) == {"sensitive", "numbers", "list", "map", "value"}
    assert doc["route_impact"] and [u["status"] for u in doc["unmanaged"]] == ["differs"]
    numbers = next(f for c in doc["changes"] for f in c["fields"] if c["name"] == "twilio" and f["path"] == "numbers")
    assert (numbers["added"], numbers["removed"]) == (["+15105550104"], [])
    assert errors(SCHEMA, doc) == []
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(edited), "--out", str(plan_file))[0] == 0
    saved = json.loads(plan_file.read_text())
    assert "desired" in saved and errors(SCHEMA, saved) == []


def test_plan_against_a_server_that_never_answers_is_one_line_naming_url_and_method(spec, capsys, monkeypatch):
    import functools

    from sipconf.livekit import adapter
    from sipconf.livekit.retry import RetryPolicy
    from tests.livekit.test_adapter import SilentServer

    async def no_wait(_seconds):
        return None

    monkeypatch.setattr(adapter, "RetryPolicy", functools.partial(RetryPolicy, sleep=no_wait))
    for name, value in DEMO_SECRETS.items():
        monkeypatch.setenv(name, value)
    ready, box = threading.Event(), {}

    async def serve():
        box["loop"], box["stop"] = asyncio.get_running_loop(), asyncio.Event()
        async with SilentServer() as silent:
            box["server"] = silent
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    url = box["server"].url
    try:
        code, out, err = run(capsys, "plan", str(spec), "--url", url, "--api-key", KEY, "--api-secret", SECRET, "--timeout", "0.1")
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)
    assert code == 1 and out == f"Target: {url}\n"
    assert err == (
        f"LiveKit at {url} did not answer livekit.SIP/ListSIPInboundTrunk within 0.1s (5 attempts);"
        " check the URL, or give it longer with --timeout SECONDS\n"
    )
    assert box["server"].connections == 5


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_timeout_must_be_a_positive_number_of_seconds(value, spec, capsys):
    assert main(["plan", str(spec), "--timeout", value]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("sipconf plan: argument --timeout: ")


DEMO_SPEC = ROOT / "scenarios" / "demo" / "spec.yaml"
# scenarios/demo/run.sh: the demo's secrets; the all-hands PIN is a literal in the spec.
DEMO_VALUES = {"DEMO_TWILIO_PASSWORD": "demo-twilio-secret", "DEMO_TELNYX_PASSWORD": "demo-telnyx-secret", "DEMO_BOARD_PIN": "9876"}


@pytest.fixture
def demo(server, monkeypatch):
    for name, value in DEMO_VALUES.items():
        monkeypatch.setenv(name, value)
    return server


def test_a_saved_plan_holds_no_secret_value_and_still_converges(demo, capsys, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(DEMO_SPEC), "--out", str(plan_file))[0] == 0
    text = plan_file.read_text()
    for value in ("4321", "9876", "demo-twilio-secret", "demo-telnyx-secret"):
        assert value not in text, value
    refs = {
        (o["name"], path): ref for o in json.loads(text)["desired"]["objects"] for path, ref in o["secrets"].items()
    }
    assert refs[("all-hands", "rule.dispatch_rule_direct.pin")] == {"env": None, "file": None, "in_spec": True}
    assert refs[("board", "rule.dispatch_rule_direct.pin")] == {"env": "DEMO_BOARD_PIN", "file": None, "in_spec": False}
    code, out, _ = run(capsys, "apply", str(plan_file))
    assert code == 0 and "Read back: the live project matches the spec." in out, out
    code, out, _ = run(capsys, "plan", str(DEMO_SPEC), "--detailed-exitcode")
    assert (code, out.splitlines()[-1]) == (0, "No changes. The live project matches the spec.")


def test_apply_of_a_saved_plan_refuses_a_literal_pin_changed_in_the_spec(demo, capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(DEMO_SPEC.read_text())
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(spec), "--out", str(plan_file))[0] == 0
    spec.write_text(spec.read_text().replace('pin: "4321"', 'pin: "4322"'))
    code, _out, err = run(capsys, "apply", str(plan_file))
    assert (code, err) == (1, (
        "a secret (a password or a PIN) is not the one this plan was made with; run `sipconf plan --out` again\n"
    ))
    assert run(capsys, "plan", str(DEMO_SPEC), "--detailed-exitcode")[0] == 2  # nothing was applied


def test_apply_of_a_saved_plan_refuses_a_pin_from_the_environment_changed_since(demo, capsys, tmp_path, monkeypatch):
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(DEMO_SPEC), "--out", str(plan_file))[0] == 0
    monkeypatch.setenv("DEMO_BOARD_PIN", "9877")
    code, _out, err = run(capsys, "apply", str(plan_file))
    assert (code, err.splitlines()) == (1, [
        "a secret (a password or a PIN) is not the one this plan was made with; run `sipconf plan --out` again"
    ])


def test_a_saved_plan_of_format_1_is_refused_in_one_line(demo, capsys, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(DEMO_SPEC), "--out", str(plan_file))[0] == 0
    doc = json.loads(plan_file.read_text())
    plan_file.write_text(json.dumps({**doc, "format_version": 1}))
    code, _out, err = run(capsys, "apply", str(plan_file))
    assert (code, err) == (1, (
        f"{plan_file} is a plan of format 1, which this sipconf does not apply (it writes format 2);"
        f" run `sipconf plan --out {plan_file}` again\n"
    ))


def test_apply_of_a_saved_plan_whose_spec_is_gone_is_one_clear_line(demo, capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(DEMO_SPEC.read_text())
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(spec), "--out", str(plan_file))[0] == 0
    spec.unlink()
    code, _out, err = run(capsys, "apply", str(plan_file))
    assert (code, err) == (1, (
        f"{plan_file}: the PIN of dispatch rule 'all-hands' is a literal, which a saved plan does not store,"
        f" and its spec {spec} cannot be read; run `sipconf apply` from where the plan was made, or plan again\n"
    ))


def test_apply_of_a_saved_plan_with_another_api_secret_is_refused_before_any_request(demo, capsys, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(DEMO_SPEC), "--out", str(plan_file))[0] == 0
    code, _out, err = run(capsys, "apply", str(plan_file), "--api-secret", "x" * 40)
    assert (code, err) == (1, (
        f"{plan_file} was made with another API secret than this apply's (its fingerprints are keyed by it);"
        " make the plan with the key that applies it\n"
    ))


def test_the_first_apply_of_the_demo_prints_under_80_lines(demo, capsys):
    code, out, _ = run(capsys, "apply", str(DEMO_SPEC), "--auto-approve")
    assert code == 0 and out.splitlines()[-1] == "Read back: the live project matches the spec."
    assert len(out.splitlines()) < 80, out
    assert "    + allowed_numbers: [+14085550000..+14085550099] (100)\n" in out
    assert "  +14155550100 from callers +14085550000..+14085550099 (100): rejected (404 No trunk found)" in out
    assert "SIP_TRANSPORT" not in out and "3600s" not in out and "trunk_ids" not in out
    assert "    + max_call_duration: 1h\n" in out and "    + transport: udp\n" in out


def test_a_pin_change_shows_no_fingerprint_and_a_password_change_does(demo, capsys, tmp_path, monkeypatch):
    from sipconf.plan.changes import fingerprint

    assert run(capsys, "apply", str(DEMO_SPEC), "--auto-approve")[0] == 0
    spec = tmp_path / "spec.yaml"
    spec.write_text(DEMO_SPEC.read_text().replace('pin: "4321"', 'pin: "4322"'))
    monkeypatch.setenv("DEMO_TELNYX_PASSWORD", "rotated")
    for fmt in ("text", "markdown", "json"):
        code, out, _ = run(capsys, "plan", str(spec), "--format", fmt, "--detailed-exitcode")
        assert code == 2
        for pin in ("4321", "4322"):
            assert pin not in out and fingerprint(SECRET, pin) not in out
        assert fingerprint(SECRET, "rotated") in out
    code, out, _ = run(capsys, "plan", str(spec))
    line = 1 + spec.read_text()[: spec.read_text().index('pin: "4322"')].count("\n")
    assert f"    ~ direct.pin: (sensitive, changed)  # {spec}:{line}\n" in out


@pytest.mark.parametrize("value", ["0", "-3", "some"])
def test_impact_must_be_a_positive_number_of_rows_or_all(value, spec, capsys):
    assert main(["plan", str(spec), "--impact", value]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("sipconf plan: argument --impact: must be a positive number of rows or 'all'")


def test_a_markdown_plan_past_githubs_limit_names_the_out_file_holding_all_of_it(server, capsys, tmp_path):
    from tests.plan.spec_gen import spec_document, spec_text

    spec = tmp_path / "big.yaml"
    spec.write_text(spec_text(spec_document(250)))
    plan_file = tmp_path / "plan.json"
    code, out, _ = run(capsys, "plan", str(spec), "--format", "markdown", "--out", str(plan_file))
    assert code == 0 and len(out) <= 65_536
    assert out.endswith(f" The whole plan is in `{plan_file}`: `sipconf show {plan_file} --impact all` shows all of it.\n")
    saved = json.loads(plan_file.read_text())
    assert (len(saved["route_impact"]), saved["route_impact_omitted"], len(saved["changes"])) == (500, 0, 750)
    code, shown, _ = run(capsys, "show", str(plan_file), "--impact", "all")
    assert code == 0 and shown.endswith("Plan: 750 to create, 0 to update, 0 to delete.\n")
    impact = shown.split("Route impact (inbound calls):\n")[1].split("\n\n")[0].splitlines()
    assert len(impact) == 500
    code, shown, _ = run(capsys, "show", str(plan_file), "--format", "json")
    assert (len(json.loads(shown)["route_impact"]), json.loads(shown)["route_impact_omitted"]) == (50, 450)


def test_show_renders_a_saved_plan_as_plan_did_without_a_target(server, spec, capsys, tmp_path, monkeypatch):
    plan_file = tmp_path / "plan.json"
    code, planned, _ = run(capsys, "plan", str(spec), "--out", str(plan_file))
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name)
    code, shown, _ = run(capsys, "show", str(plan_file))
    assert code == 0 and shown == planned.split("\n", 1)[1]  # all but the `Target:` line
    plan_file.write_text(plan_file.read_text().replace('"format_version": 2', '"format_version": 1'))
    code, _out, err = run(capsys, "show", str(plan_file))
    assert (code, err.splitlines()) == (1, [
        f"{plan_file} is a plan of format 1, which this sipconf does not apply (it writes format 2);"
        f" run `sipconf plan --out {plan_file}` again"
    ])
