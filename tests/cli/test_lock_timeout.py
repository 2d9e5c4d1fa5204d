"""`sipconf apply --lock-timeout DURATION` from the command line, against the embedded control plane."""

from __future__ import annotations

import os

import pytest

from sipconf.plan.lock import LocalLock
from tests.cli.test_plan_apply import run, server, spec  # noqa: F401 - fixtures


def test_a_held_lock_is_waited_for_then_one_line_and_exit_1(server, spec, capsys, tmp_path):  # noqa: F811
    other = LocalLock(server.url, str(tmp_path / "locks"))  # the lock directory `server` points SIPCONF_LOCK_DIR at
    other.take()
    try:
        code, out, err = run(capsys, "apply", str(spec), "--auto-approve", "--lock-timeout", "1ms")
    finally:
        other.release()
    held_by = f"held by pid {os.getpid()} on this machine (lock file {other.path})"
    assert code == 1
    assert err.splitlines() == [
        f"Waiting up to 0.001s for the apply lock on {server.url}, {held_by}",
        f"gave up waiting for the apply lock on {server.url} after 0.001s (--lock-timeout): it is still {held_by}",
    ]
    assert out == f"Target: {server.url}\n"
    code, out, _ = run(capsys, "apply", str(spec), "--auto-approve", "--lock-timeout", "2m")
    assert code == 0 and "Read back: the live project matches the spec." in out


@pytest.mark.parametrize("value", ["5", "5x", "1.s", "2 m", ""])
def test_lock_timeout_must_be_a_duration(value, spec, capsys):  # noqa: F811
    code, _, err = run(capsys, "apply", str(spec), "--lock-timeout", value)
    assert code == 1
    assert err == (
        f"sipconf apply: argument --lock-timeout: expected a duration such as 30s, 2m or 1h (or 0), got {value!r}"
        " (see `sipconf apply --help`)\n"
    )
