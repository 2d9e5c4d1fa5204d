"""`sipconf fmt [FILES] [--check]` from the command line: in place, for CI, and on broken specs."""

from __future__ import annotations

import subprocess
import sys

from sipconf.cli import main
from tests.spec.test_fmt import FORMATTED, SPEC

BROKEN = "version: 1\nproject: acme\ntrunks:\n  t:\n    inbound: {numbers: [+15105550100]}\n  t:\n    inbound: {}\n"


def test_fmt_rewrites_in_place_then_check_passes(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    spec.chmod(0o640)
    assert main(["fmt", str(spec)]) == 0
    assert capsys.readouterr().out == f"reformatted {spec}\n"
    assert spec.read_text() == FORMATTED
    assert spec.stat().st_mode & 0o777 == 0o640
    assert main(["fmt", str(spec)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["fmt", "--check", str(spec)]) == 0


def test_check_lists_the_files_that_would_change_and_changes_none(tmp_path, capsys):
    messy, tidy = tmp_path / "messy.yaml", tmp_path / "tidy.yaml"
    messy.write_text(SPEC)
    tidy.write_text(FORMATTED)
    assert main(["fmt", "--check", str(tidy), str(messy)]) == 1
    assert capsys.readouterr().out == f"would reformat {messy}\n"
    assert messy.read_text() == SPEC


def test_a_broken_spec_gets_its_errors_and_is_left_untouched(tmp_path, capsys):
    broken, messy = tmp_path / "broken.yaml", tmp_path / "messy.yaml"
    broken.write_text(BROKEN)
    messy.write_text(SPEC)
    assert main(["fmt", str(broken), str(messy)]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{broken}:5:25: error: trunks.t.inbound.numbers[0]: expected a string, got an integer (put it in quotes) [invalid-value]",
        f"{broken}:6:3: error: duplicate key 't' (first defined at {broken}:4:3) [duplicate-key]",
    ]
    assert broken.read_text() == BROKEN
    assert out == f"reformatted {messy}\n"  # the other files are still formatted
    assert main(["fmt", str(tmp_path / "missing.yaml")]) == 1
    assert capsys.readouterr().err == (
        f"error: cannot read spec {tmp_path / 'missing.yaml'}: No such file or directory [unreadable-spec]\n"
    )


def test_without_files_fmt_filters_stdin_to_stdout():
    run = [sys.executable, "-m", "sipconf", "fmt"]
    done = subprocess.run(run, input=SPEC, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, FORMATTED, "")
    done = subprocess.run(run + ["--check"], input=SPEC, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (1, "would reformat <stdin>\n")
    done = subprocess.run(run + ["--check"], input=FORMATTED, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "")
