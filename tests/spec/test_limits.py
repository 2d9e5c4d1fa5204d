"""Size limits: a file over 16 MiB, or more than 1,000,000 numbers once ranges expand, is one
line at `file:1:1`; `--max-spec-size MIB` (or SIPCONF_MAX_SPEC_SIZE) raises both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gen_spec import spec_text
from sipconf.errors import UserError
from sipconf.spec import SpecError, load, loads
from sipconf.spec.limits import ENV_VAR, Limits, default_limits
from sipconf.spec.numbers import NumberEntry

ROOT = Path(__file__).resolve().parents[2]
UNSET = {k: v for k, v in os.environ.items() if k != ENV_VAR}


def _many_ranges(count: int) -> str:
    """`count` trunks of one 10,000-number range each: a few KiB of YAML."""
    trunks = "".join(
        f'  t{i}:\n    inbound:\n      numbers: ["+1{i:06d}0000..+1{i:06d}9999"]\n' for i in range(count)
    )
    return f"version: 1\nproject: acme\ntrunks:\n{trunks}"


def test_defaults_are_16_mib_and_a_million_numbers(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    limits = default_limits()
    assert (limits.max_bytes, limits.max_numbers) == (16 << 20, 1_000_000)
    assert (Limits(32).max_bytes, Limits(32).max_numbers) == (32 << 20, 2_000_000)


def test_numbers_are_counted_before_any_range_is_expanded(monkeypatch):
    text = _many_ranges(101)  # 1,010,000 numbers in 9 KiB

    def expand(entry):
        raise AssertionError(f"{entry.text} was expanded")

    monkeypatch.setattr(NumberEntry, "expand", expand)
    with pytest.raises(SpecError) as info:
        loads(text, "big.yaml", limits=Limits())
    assert info.value.lines == (
        "big.yaml:1:1: error: the spec lists 1,010,000 numbers once its ranges are expanded, more than the limit of"
        " 1,000,000; raise it with --max-spec-size 17 (62,500 numbers per MiB) [spec-too-large]",
    )
    assert info.value.state is None


def test_the_flag_raises_both_limits(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text(100), encoding="utf-8")  # about 6 KiB, 100 numbers
    small = [sys.executable, "-m", "sipconf", "validate", str(spec), "--max-spec-size", "0.004"]
    run = subprocess.run(small, cwd=ROOT, capture_output=True, text=True, timeout=60, env=UNSET)
    assert run.returncode == 1
    assert run.stdout.splitlines()[0].startswith(f"{spec}:1:1: error: the spec is 6.")
    assert run.stdout.splitlines()[0].endswith("more than the limit of 0.004 MiB; raise it with --max-spec-size 1 [spec-too-large]")
    small[-1] = "1"
    run = subprocess.run(small, cwd=ROOT, capture_output=True, text=True, timeout=60, env=UNSET)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_variable_sets_the_default_and_a_bad_one_is_one_line(tmp_path, monkeypatch):
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text(100), encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, "0.001")
    with pytest.raises(SpecError) as info:
        load(spec)
    assert info.value.issues[0].code == "spec-too-large"
    monkeypatch.setenv(ENV_VAR, "lots")
    with pytest.raises(UserError) as bad:
        load(spec)
    assert bad.value.lines == (f"{ENV_VAR}: expected a size in MiB (a number above 0), got 'lots'",)


@pytest.mark.parametrize("command", [
    ["validate", "S"], ["plan", "S"], ["apply", "S"], ["explain", "S", "--to", "+1"], ["test", "S"],
])
def test_every_command_that_loads_a_spec_has_the_flag(command):
    from sipconf.cli import build_parser

    argv = command[:1] + ["--max-spec-size", "64"] + command[1:]
    assert build_parser(argv).parse_args(argv).max_spec_size == 64


def test_a_bad_flag_value_is_one_line():
    run = subprocess.run([sys.executable, "-m", "sipconf", "validate", "x.yaml", "--max-spec-size", "0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip() == (
        "sipconf validate: argument --max-spec-size: expected a size in MiB (a number above 0), got '0'"
        " (see `sipconf validate --help`)"
    )
