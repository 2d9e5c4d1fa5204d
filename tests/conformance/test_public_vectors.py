"""The public LiveKit vectors, run through the same runner users run."""

from __future__ import annotations

import io
import subprocess
import sys

from sipconf.conformance.runner import run


def test_all_public_vectors_pass(public_vectors):
    out = io.StringIO()
    passed, failed = run([str(public_vectors)], out=out)
    assert failed == 0, out.getvalue()
    assert passed == 222


def test_cli_summary_line_and_exit_code(public_vectors, tmp_path):
    broken = tmp_path / "v.json"
    broken.write_text('[{"id": "x", "kind": "no_such_kind", "source": {"repo": "r"}, "expect": {}}]')
    proc = subprocess.run(
        [sys.executable, "-m", "sipconf.conformance", str(broken)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == "0 passed, 1 failed"
    assert "unknown kind 'no_such_kind'" in proc.stdout
