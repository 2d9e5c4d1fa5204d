"""The pytest plugin: suites outside a `scenarios` folder are collected when listed, and a
suite that was not collected gets one hint line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.simulator.conftest import DEMO, DEMO_SUITE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "callflows").mkdir()
    shutil.copy(DEMO / "spec.yaml", tmp_path / "callflows" / "spec.yaml")
    (tmp_path / "callflows" / "calls.yaml").write_text(DEMO_SUITE, encoding="utf-8")
    (tmp_path / "other.yaml").write_text("just: data\n", encoding="utf-8")
    return tmp_path


def pytest_in(folder: Path, *args: str, ini: str = "") -> subprocess.CompletedProcess:
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n" + ini, encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LIVEKIT_")}
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *args], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=120)


def test_a_suite_outside_scenarios_is_not_collected_and_gets_one_hint(project: Path):
    done = pytest_in(project, ".")
    hints = [line for line in done.stdout.splitlines() if line.startswith("sipconf: ")]
    assert hints == ["sipconf: callflows/calls.yaml looks like a scenario suite but is not under a `scenarios` folder: "
                     "not collected (add it with --sipconf-scenarios PATH or the sipconf_scenario_paths ini option)"]
    assert "calls.yaml::support line" not in done.stdout


def test_the_cli_option_collects_other_folders(project: Path):
    done = pytest_in(project, ".", "--sipconf-scenarios", "callflows")
    assert "callflows/calls.yaml::support line" in done.stdout
    assert not any(line.startswith("sipconf: ") for line in done.stdout.splitlines())


def test_the_ini_option_collects_other_folders(project: Path):
    done = pytest_in(project, ".", ini="sipconf_scenario_paths = callflows\n")
    assert "callflows/calls.yaml::support line" in done.stdout


def test_a_scenario_its_driver_cannot_run_is_a_pytest_skip_with_the_reason(tmp_path: Path):
    (tmp_path / "scenarios").mkdir()
    shutil.copy(DEMO / "spec.yaml", tmp_path / "scenarios" / "spec.yaml")
    (tmp_path / "scenarios" / "calls.yaml").write_text(DEMO_SUITE + """  - name: outbound in process
    driver: inproc
    call: {direction: outbound, trunk: twilio, from: "+15105550100", to: "+16505550111", room: r}
""", encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n", encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LIVEKIT_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "scenarios"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout
    assert any(line.startswith("SKIPPED [1] scenarios/calls.yaml") and line.endswith(
        "inproc driver: the inproc driver routes inbound calls only; an outbound call needs a far end (use sipp or scapy)")
        for line in lines), lines
    assert lines[-1].startswith("1 passed, 1 skipped")
