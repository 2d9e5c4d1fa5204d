"""`sipconf explain` on the demo spec: a routed call, a PIN room, a rejected call, and a
property that the JSON form agrees with the routing engine for random calls."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies

from sipconf.checks.prepared import placeholder_message
from sipconf.cli import main
from sipconf.routing.call import CallFacts
from sipconf.routing.route import Mode, route
from sipconf.spec import load

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "scenarios" / "demo" / "spec.yaml")


def explain(*argv: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["explain", DEMO, *argv])
    return code, out.getvalue().splitlines(), err.getvalue()


def test_routed_call():
    code, lines, _ = explain("--from", "+14085551234", "--to", "+15105550100", "--src-ip", "127.0.0.11",
                             "--header", "X-Customer-Tier: gold")
    assert code == 0
    assert lines[0] == "call: from +14085551234 to +15105550100, src_ip 127.0.0.11 (mode explicit)"
    assert "  trunk twilio chosen: a specific number beats default trunks" in lines
    assert "auth: not required" in lines
    assert '  rule support is a specific candidate, priority 1101 (individual, room "support")' in lines
    assert "rule chosen: support (priority 1101): the only rule that takes this call" in lines
    assert "room: support_+14085551234_<random 12>" in lines
    assert "participant: identity sip_+14085551234, name Phone +14085551234" in lines
    for attr in ("  customer.tier = gold", "  sip.h.x-customer-tier = gold", "  sip.ruleID = support",
                 "  sip.trunkID = twilio", "  sip.phoneNumber = +14085551234", "  team = support"):
        assert attr in lines
    assert 'agents: support-agent (metadata {"language":"en"})' in lines
    assert lines[-1] == "result: 200 OK (accept)"
    # Sections come in the documented order.
    order = [lines.index(x) for x in ("trunks considered:", "auth: not required", "rules considered:",
                                      "rule chosen: support (priority 1101): the only rule that takes this call",
                                      "attributes:")]
    assert order == sorted(order)


def test_pin_room_with_auth(monkeypatch):
    monkeypatch.setenv("DEMO_TELNYX_PASSWORD", "s3cret")
    code, lines, _ = explain("--from", "+14085550042", "--to", "+14155550100", "--src-ip", "127.0.0.12",
                             "--auth", "acme-telnyx:s3cret", "--pin", "4321")
    assert code == 0
    assert ("auth: required by trunk telnyx (digest, username acme-telnyx, realm sip.acme.test);"
            " the given --auth passes") in lines
    assert "rule chosen: all-hands (priority 1000): the only rule that takes this call" in lines
    assert "room: all-hands" in lines
    # hide_phone_number: a hashed identity and the last 4 digits only.
    (who,) = [line for line in lines if line.startswith("participant: ")]
    assert who.endswith(", name Phone 0042") and "+14085550042" not in who
    assert "  sip.callStatus = active" in lines
    assert lines[-1] == "result: 200 OK (accept)"
    assert not any("s3cret" in line for line in lines)


def test_auth_env_reads_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_TELNYX_PASSWORD", "s3cret")
    monkeypatch.setenv("CALLER_PASSWORD", "s3cret")
    code, lines, _ = explain("--from", "+14085550042", "--to", "+14155550100", "--auth-env", "acme-telnyx:CALLER_PASSWORD")
    assert code == 0 and lines[-1] == "result: 200 OK (request pin)"
    assert ("auth: required by trunk telnyx (digest, username acme-telnyx, realm sip.acme.test);"
            " the given --auth passes") in lines


@pytest.mark.parametrize(("argv", "line"), [
    (["--auth-env", "acme-telnyx:NO_SUCH_PASSWORD_VAR"], "--auth-env acme-telnyx:NO_SUCH_PASSWORD_VAR: $NO_SUCH_PASSWORD_VAR is not set"),
    (["--auth-env", "acme-telnyx:HOME", "--auth", "acme-telnyx:x"], "give --auth or --auth-env, not both"),
])
def test_auth_env_errors_are_one_line(argv, line):
    code, _, err = explain("--to", "+14155550100", *argv)
    assert code == 1 and err.splitlines() == [line]


def test_pin_prompt_without_pin():
    code, lines, _ = explain("--from", "+14085550042", "--to", "+14155550100")
    assert code == 0
    assert ('rule chosen: all-hands (priority 1000): at equal priority the smaller room name wins'
            ' ("all-hands" before "board") (next: board, priority 1000)') in lines
    assert "pin: the rule needs a PIN; LiveKit answers and prompts for it (pass --pin DIGITS)" in lines
    assert lines[-1] == "result: 200 OK (request pin)"


def test_wrong_password_is_401(monkeypatch):
    monkeypatch.setenv("DEMO_TELNYX_PASSWORD", "s3cret")
    code, lines, _ = explain("--from", "+14085550042", "--to", "+14155550100", "--auth", "acme-telnyx:nope")
    assert code == 1
    assert lines[-1] == "result: 401 Unauthorized (reject)"
    assert not any("s3cret" in line or "nope" in line for line in lines[1:])


def test_auth_without_the_secret_names_the_variable(monkeypatch):
    monkeypatch.delenv("DEMO_TELNYX_PASSWORD", raising=False)
    code, _, err = explain("--from", "+14085550042", "--to", "+14155550100", "--auth", "acme-telnyx:x")
    assert code == 1
    assert err.splitlines()[-1].endswith("secret environment variable DEMO_TELNYX_PASSWORD is not set")


def test_rejected_call():
    code, lines, _ = explain("--from", "+14085551234", "--to", "+15105550199", "--src-ip", "127.0.0.11")
    assert code == 1
    assert "  trunk twilio dropped: called number +15105550199 not in numbers" in lines
    assert lines[-1] == "result: 404 No trunk found (reject)"


def test_no_rule_in_oss_mode_is_a_drop():
    code, lines, _ = explain("--from", "+14085551234", "--to", "+15105550102", "--src-ip", "127.0.0.11",
                             "--mode", "oss")
    assert code == 1
    assert lines[-1] == "result: dropped: 100 Processing and 180 Ringing, then no final response"


ORDER_SPEC = """\
version: 1
project: order
trunks:
  main:
    inbound: {numbers: ["+15105550100", "+15105550101"], allowed_addresses: ["127.0.0.0/8"]}
dispatch_rules:
  lobby:
    direct: {room: lobby}
  sales:
    trunks: [main]
    numbers: ["+15105550101"]
    individual: {room_prefix: sales}
  main-line:
    trunks: [main]
    individual: {room_prefix: main}
"""


def explain_order(tmp_path, *argv: str) -> tuple[int, list[str]]:
    spec = tmp_path / "order.yaml"
    spec.write_text(ORDER_SPEC)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["explain", str(spec), "--src-ip", "127.0.0.1", "--from", "+14085550000", *argv])
    return code, out.getvalue().splitlines()


def test_the_chosen_rule_says_which_step_of_the_order_beat_the_next_rule(tmp_path):
    _, lines = explain_order(tmp_path, "--to", "+15105550101")
    assert ("rule chosen: sales (priority 1101): a rule listing the called number beats a rule for any"
            " called number and caller (next: main-line, priority 2101)") in lines
    # A lower number does not win across the first step: lobby (2100) names no trunk.
    _, lines = explain_order(tmp_path, "--to", "+15105550100")
    assert ("rule chosen: main-line (priority 2101): a rule naming the call's trunk beats a rule for every"
            " trunk (next: lobby, priority 2100)") in lines


def test_the_json_form_carries_the_reason_and_the_runner_up(tmp_path):
    _, lines = explain_order(tmp_path, "--to", "+15105550100", "--json")
    got = json.loads("\n".join(lines))
    assert {k: got[k] for k in ("rule", "rule_priority", "rule_reason", "rule_runner_up", "rule_runner_up_priority")} == {
        "rule": "main-line", "rule_priority": 2101,
        "rule_reason": "a rule naming the call's trunk beats a rule for every trunk",
        "rule_runner_up": "lobby", "rule_runner_up_priority": 2100,
    }


def test_spec_errors_exit_1_with_issue_lines(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nproject: p\ntrunks:\n  t:\n    inbound:\n      metadata: x\n")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["explain", str(spec), "--to", "+1"])
    assert code == 1
    assert err.getvalue().splitlines() == [
        f"{spec}:5:5: error: for security, one of the fields must be set: AuthUsername+AuthPassword,"
        " AllowedAddresses or Numbers [livekit-rejects-object]"
    ]


def test_cli_subprocess_exit_codes():
    cmd = [sys.executable, "-m", "sipconf", "explain", DEMO, "--to", "+15105550100", "--src-ip", "127.0.0.11", "--json"]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rule"] == "support"
    bad = subprocess.run(cmd[:5] + ["--to", "+19995550000", "--json"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["status"] == 404


STATE = load(DEMO)
TRUNKS = [placeholder_message(o) for o in STATE.inbound]
RULES = [placeholder_message(o) for o in STATE.rules]
NUMBERS = ["+15105550100", "+15105550101", "+15105550119", "+15105550150", "+14155550100", "+14155550101", "+19995550000"]
CALLERS = ["+14085550000", "+14085550099", "+14085551234", "anonymous"]
SOURCES = ["", "127.0.0.11", "127.0.1.40", "127.0.0.1"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.sampled_from(NUMBERS), strategies.sampled_from(CALLERS), strategies.sampled_from(SOURCES),
       strategies.sampled_from(["explicit", "oss"]), strategies.sampled_from(["", "gold"]))
def test_explain_json_agrees_with_route(to, caller, src, mode, tier):
    argv = ["--to", to, "--from", caller, "--src-ip", src, "--mode", mode, "--json"]
    headers: tuple = ()
    if tier:
        argv += ["--header", f"X-Customer-Tier: {tier}"]
        headers = (("X-Customer-Tier", tier),)
    code, lines, _ = explain(*argv)
    got = json.loads("\n".join(lines))
    want = route(TRUNKS, RULES, CallFacts(caller, to, src_ip=src, headers=headers), Mode(mode),
                 project_id=STATE.project, authenticated=True).value
    assert (got["action"], got["status"], got["reason"]) == (want.action, want.status, want.reason)
    assert got["trunk"] == (want.trunk.sip_trunk_id if want.trunk else None)
    assert got["rule"] == (want.rule.sip_dispatch_rule_id if want.rule else None)
    assert code == (0 if want.action in ("accept", "request_pin") else 1)
    if want.action == "accept":
        ev = want.evaluation
        assert got["identity"] == ev.participant_identity and got["name"] == ev.participant_name
        assert got["room_random"] == ev.room_name_random
        if not ev.room_name_random:
            assert got["room"] == ev.room_name
        drop = {"sip.callID"}
        assert {k: v for k, v in got["attributes"].items() if k not in drop} == {
            k: v for k, v in want.attributes.items() if k not in drop
        }
