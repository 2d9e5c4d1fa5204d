"""Ctrl-C (SIGINT) to a real `sipconf apply` process at several moments: before the first
request, mid-way, near the end. Every request in flight finishes and is reported, one line
says what was applied and what was not, the exit code is 130, there is no traceback, and a
re-apply converges with nothing duplicated."""

from __future__ import annotations

import re

import pytest

from tests.cli.apply_process import SIGINT, apply_env, apply_until, live_names, reapply
from tests.cli.test_plan_apply import Server
from tests.plan.scale import numbers_for_objects, object_count, scale_spec

NUMBERS = numbers_for_objects(150, per_trunk=2)
TOTAL = object_count(NUMBERS, per_trunk=2)
APPLIED = re.compile(r"Interrupted: applied (\d+) of (\d+) change\(s\); (\d+) not applied\. Run `sipconf apply` again to finish\.")


@pytest.fixture
def plane(tmp_path):
    spec = tmp_path / "scale.yaml"
    spec.write_text(scale_spec(NUMBERS, per_trunk=2))
    with Server(tmp_path / "state.db") as server:
        yield server, spec, apply_env(server.url, tmp_path / "locks")


def reported(stopped) -> set[tuple[str, str]]:
    """The objects the progress lines say were created: `[n/N] + kind name: created ID`."""
    return {tuple(line.split(": ")[0].split("] + ")[1].split(" ")) for line in stopped.progress}


@pytest.mark.parametrize("moment", ["before the first request", "mid-way", "near the end"])
def test_ctrl_c_reports_every_change_made_then_one_line_and_exit_130(plane, moment):
    server, spec, env = plane
    after = {"before the first request": 0, "mid-way": TOTAL // 2, "near the end": TOTAL - 3}[moment]
    stopped = apply_until(spec, env, after=after, sig=SIGINT)
    output = "\n".join(stopped.lines)
    assert stopped.code == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    last = stopped.lines[-1]
    names, ledgers = live_names(server.url, "scale")
    assert set(names) == reported(stopped)  # nothing applied went unreported
    assert len(names) == len(set(names))
    if after == 0:
        assert last == "Interrupted before the plan was made: nothing was changed."
        assert names == [] and ledgers == 0
    else:
        assert "Stopping: waiting for the requests in flight (Ctrl-C again to quit at once)." in stopped.lines
        match = APPLIED.fullmatch(last)
        if match is None:
            assert last == f"Interrupted after all {TOTAL} change(s) were applied; the read-back was skipped.", output
            assert len(stopped.progress) == TOTAL
        else:
            applied, total, left = map(int, match.groups())
            assert (total, applied + left) == (TOTAL, TOTAL)
            assert after <= applied == len(stopped.progress)
    rerun = reapply(spec, env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.splitlines()[-1] in ("Read back: the live project matches the spec.", "No changes. The live project matches the spec.")
    names, ledgers = live_names(server.url, "scale")
    assert len(names) == len(set(names)) == TOTAL and ledgers == 1


def test_parallelism_must_be_a_whole_number_of_one_or_more(plane):
    _server, spec, env = plane
    for value in ("0", "-2", "many"):
        result = reapply(spec, env, "--parallelism", value)
        assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("sipconf apply: argument --parallelism: ")


def test_ctrl_c_at_the_confirmation_prompt_changes_nothing(plane):
    """At `Apply these changes?` on a terminal (a pseudo-terminal here)."""
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.cli.test_plan_apply import ROOT

    server, spec, env = plane
    master, slave = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "sipconf", "apply", str(spec)], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
    ) as proc:
        os.close(slave)
        output = b""
        while b"Apply these changes?" not in output:
            ready, _, _ = select.select([master], [], [], 120)
            assert ready, output[-500:]
            output += os.read(master, 65536)
        proc.send_signal(SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            output += chunk
    os.close(master)
    text = output.decode(errors="replace")
    assert code == 130, text[-2000:]
    assert "Traceback" not in text
    assert text.rstrip().splitlines()[-1] == f"Interrupted: none of the {TOTAL} planned change(s) was applied; nothing was changed."
    names, ledgers = live_names(server.url, "scale")
    assert names == [] and ledgers == 0
