"""`sipconf test --spec FILE`, `-j` bounds, and ids relative to where the suite is."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sipconf.cli import main
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO, DEMO_SUITE


@pytest.fixture
def split_repo(tmp_path: Path) -> Path:
    """`sip/spec.yaml` with `scenarios/` next to it: discovery finds no spec for the suite."""
    (tmp_path / "sip").mkdir()
    shutil.copy(DEMO / "spec.yaml", tmp_path / "sip" / "spec.yaml")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "calls.yaml").write_text(DEMO_SUITE, encoding="utf-8")
    return tmp_path


def test_without_spec_the_error_says_how_to_give_it(split_repo: Path, capsys, monkeypatch):
    monkeypatch.chdir(split_repo)
    assert main(["test", "scenarios"]) == 1
    err = capsys.readouterr().err
    assert ("no spec.yaml in this folder or a parent folder: give it with `spec:` in the suite file or `--spec FILE`"
            in err and "[no-spec]" in err)


def test_spec_option_overrides_discovery(split_repo: Path, capsys, monkeypatch):
    monkeypatch.chdir(split_repo)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["test", "scenarios", "--spec", "sip/spec.yaml", "--driver", "inproc"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 passed, 0 failed")
    assert [s.spec for s in load_paths(["scenarios"], spec="sip/spec.yaml")] == [Path("sip/spec.yaml")]


def test_a_missing_spec_file_is_one_line(split_repo: Path, capsys, monkeypatch):
    monkeypatch.chdir(split_repo)
    assert main(["test", "scenarios", "--spec", "nope.yaml"]) == 1
    assert "--spec nope.yaml: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_jobs_below_one_is_one_line_and_exit_1(value, capsys):
    assert main(["test", str(DEMO / "inbound"), "-j", value]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"sipconf test: argument -j: expected a whole number of at least 1, got '{value}' (see `sipconf test --help`)"]
    assert captured.out == ""


def test_ids_are_relative_to_the_current_directory_or_the_suite_folder(split_repo: Path, monkeypatch):
    absolute = (split_repo / "scenarios").resolve()
    monkeypatch.chdir(split_repo)
    assert [s.id for s in load_paths([absolute], spec="sip/spec.yaml")] == ["scenarios/calls.yaml::support line"]
    monkeypatch.chdir(split_repo / "sip")  # the suite is outside the current directory
    assert [s.id for s in load_paths([absolute], spec="spec.yaml")] == ["calls.yaml::support line"]


def test_absolute_paths_give_relative_junit_classnames_and_report_names(split_repo: Path, monkeypatch, capsys):
    monkeypatch.chdir(split_repo)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    out = split_repo / "out"
    assert main(["test", str((split_repo / "scenarios").resolve()), "--spec", str(split_repo / "sip" / "spec.yaml"),
                 "--driver", "inproc", "--junit", str(out / "junit.xml"), "--report", str(out / "r")]) == 0
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert 'classname="scenarios.calls"' in junit and os.sep + "tmp" not in junit.replace("/", os.sep).split("classname")[1][:40]
    assert sorted(p.name for p in (out / "r" / "calls").iterdir()) == [
        "scenarios_calls.yaml_support_line.html", "scenarios_calls.yaml_support_line.pcap"]
