"""`.pre-commit-hooks.yaml`: each hook's entry, run as pre-commit runs it (the entry's words,
then the matching file names), passes a good spec and fails a bad one."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.cli.test_fmt import BROKEN
from tests.spec.test_fmt import FORMATTED, SPEC

ROOT = Path(__file__).resolve().parents[2]
HOOKS = {hook["id"]: hook for hook in YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def run_hook(hook: dict, files: list[Path]) -> subprocess.CompletedProcess:
    """The hook as pre-commit would run it: its files filter, then `entry FILE...` (the venv's
    `sipconf` first on PATH, as pre-commit's own environment for a `language: python` hook)."""
    chosen = [f for f in files if re.search(hook["files"], f.as_posix())]
    assert chosen == files, f"{hook['id']} would skip {set(files) - set(chosen)}"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([*shlex.split(hook["entry"]), *map(str, files)], capture_output=True, text=True, env=env)


def test_both_hooks_are_defined_for_python_on_spec_files():
    assert sorted(HOOKS) == ["sipconf-fmt", "sipconf-validate"]
    for hook in HOOKS.values():
        assert hook["language"] == "python" and hook["types"] == ["yaml"]
        assert re.search(hook["files"], "deploy/acme-spec.yaml") and re.search(hook["files"], "sipconf.yml")
        assert not re.search(hook["files"], "scenarios/inbound_support.yaml")


@pytest.mark.parametrize("hook_id", ["sipconf-validate", "sipconf-fmt"])
def test_each_hook_passes_a_good_spec(hook_id, tmp_path):
    good = tmp_path / "spec.yaml"
    good.write_text(FORMATTED)
    done = run_hook(HOOKS[hook_id], [good])
    assert done.returncode == 0, done.stdout + done.stderr
    assert good.read_text() == FORMATTED


def test_validate_fails_a_broken_spec_with_its_line(tmp_path):
    good, broken = tmp_path / "spec.yaml", tmp_path / "prod-spec.yaml"
    good.write_text(FORMATTED)
    broken.write_text(BROKEN)
    done = run_hook(HOOKS["sipconf-validate"], [good, broken])
    assert done.returncode == 1
    assert f"{broken}:5:25: error: trunks.t.inbound.numbers[0]: expected a string" in done.stdout


def test_fmt_fails_an_unformatted_spec_and_leaves_it_as_it_is(tmp_path):
    messy, broken = tmp_path / "spec.yaml", tmp_path / "sipconf.yaml"
    messy.write_text(SPEC)
    broken.write_text(BROKEN)
    done = run_hook(HOOKS["sipconf-fmt"], [messy])
    assert (done.returncode, done.stdout) == (1, f"would reformat {messy}\n")
    assert messy.read_text() == SPEC
    done = run_hook(HOOKS["sipconf-fmt"], [broken])
    assert done.returncode == 1 and done.stderr.startswith(f"{broken}:5:25: error:")
