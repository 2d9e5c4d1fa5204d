"""`sipconf validate` and `sipconf schema` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sipconf.cli import main
from sipconf.issues import Issue
from sipconf.model import Origin

ROOT = Path(__file__).resolve().parents[2]
DEMO = "scenarios/demo/spec.yaml"


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sipconf", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60
    )


def test_demo_spec_validates():
    result = _run("validate", DEMO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"ok: 2 inbound trunks, 2 outbound trunks, 5 dispatch rules ({DEMO})"


def test_demo_spec_validates_in_prod_as_json():
    result = _run("validate", DEMO, "--env", "prod", "--format", "json")
    doc = json.loads(result.stdout)
    assert result.returncode == 0
    assert doc["ok"] is True
    assert doc["summary"] == f"ok: 2 inbound trunks, 2 outbound trunks, 5 dispatch rules ({DEMO}, env prod)"


def test_errors_as_json(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("version: 1\nproject: a\ntrunk: {}\n", encoding="utf-8")
    result = _run("validate", str(spec), "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "ok": False,
        "summary": None,
        "issues": [
            {
                "level": "error",
                "code": "unknown-key",
                "message": "unknown key 'trunk' (did you mean 'trunks'?)",
                "file": str(spec),
                "line": 3,
                "col": 1,
            }
        ],
    }


def test_missing_secret_only_when_asked():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    assert _run("validate", DEMO, env=env).returncode == 0
    result = _run("validate", DEMO, "--check-secrets", env=env)
    assert result.returncode == 1
    assert f"{DEMO}:29:40: error: secret environment variable DEMO_TWILIO_PASSWORD is not set [missing-secret]" in result.stdout
    assert _run("validate", DEMO, "--check-secrets", env=env | {
        "DEMO_TWILIO_PASSWORD": "a", "DEMO_TELNYX_PASSWORD": "b", "DEMO_BOARD_PIN": "1234"}).returncode == 0


class _WarnOnce:
    code = "test-warning"

    def run(self, state):
        return [Issue("warning", self.code, "just a warning", Origin(state.source, 1, 1))]


@pytest.fixture
def warning_check(monkeypatch):
    import sipconf.checks as checks

    monkeypatch.setattr(checks, "_default_checks", lambda: (_WarnOnce(),))


def test_warnings_pass_unless_strict(warning_check, capsys):
    assert main(["validate", str(ROOT / DEMO)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{ROOT / DEMO}:1:1: warning: just a warning [test-warning]"
    assert out[1].startswith("ok: ")
    assert main(["validate", str(ROOT / DEMO), "--strict"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"failed: 0 errors, 1 warning ({ROOT / DEMO})"


def test_schema_prints_json_schema():
    result = _run("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "sipconf spec v1"


def test_scenario_schema_missing_module_is_one_line(monkeypatch, capsys):
    import sipconf.commands.schema as schema

    monkeypatch.setattr(schema, "SCENARIO_SCHEMA_MODULE", "simulator.no_such_module.schema")
    assert main(["schema", "--scenario"]) == 1
    assert capsys.readouterr().err == (
        "scenario schema is not available: simulator.no_such_module.schema is not installed\n"
    )


@pytest.mark.parametrize("argv", [["--version"], ["validate", DEMO]])
def test_version_and_validate_leave_the_network_and_test_stacks_unimported(argv):
    """`sipconf --version` and `validate` stay quick: the HTTP client and server, scapy and
    hypothesis are imported only by the commands that use them."""
    probe = (
        "import sys\nfrom sipconf.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "heavy = ('aiohttp', 'livekit.api', 'scapy', 'hypothesis', 'sipconf.bridge', 'sipconf.local')\n"
        "print(sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + '.')}))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "[]"


def test_several_specs_are_each_checked_and_any_failure_fails(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nproject: acme\nnope: 1\n")
    demo = str(ROOT / DEMO)
    assert main(["validate", demo, str(broken)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok: 2 inbound trunks") and out[-1] == f"failed: 1 error, 0 warnings ({broken})"
    assert main(["validate", demo, str(broken), "--format", "json"]) == 1
    documents = json.loads(capsys.readouterr().out)
    assert [(d["spec"], d["ok"]) for d in documents] == [(demo, True), (str(broken), False)]
