"""The public LiveKit vectors, run through the same runner users run."""

from __future__ import annotations

import io
import subprocess
import sys

from sipconf.conformance import runner
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


def test_no_file_runs_the_repository_copy():
    proc = subprocess.run(
        [sys.executable, "-m", "sipconf.conformance", "--kind", "normalize_number"], capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout.splitlines()[-1]) == (0, "2 passed, 0 failed")


def test_no_file_and_no_repository_copy_is_one_clear_line(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "livekit-vectors.json"
    monkeypatch.setattr(runner, "DEFAULT_VECTORS", missing)
    assert runner.main([]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"error: {missing} not found; name a vector file\n")


def _summary(tmp_path, text: str, *args: str):
    path = tmp_path / "v.json"
    path.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "sipconf.conformance", str(path), *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


def test_malformed_files_still_end_with_the_summary(tmp_path):
    assert _summary(tmp_path, '[1, "x", null]')[:2] == (
        1,
        ["FAIL ? [?]: not a vector object: 1", "FAIL ? [?]: not a vector object: 'x'",
         "FAIL ? [?]: not a vector object: None", "0 passed, 3 failed"],
    )
    code, lines, err = _summary(tmp_path, '{"vectors": 5}')
    assert code == 1 and lines[-1] == "0 passed, 1 failed" and "Traceback" not in err
    code, lines, err = _summary(tmp_path, '[{"id": "a", "kind": "normalize_number", "source": "livekit/sip"}]', "--repo", "livekit/sip")
    assert code == 1 and lines[-1] == "0 passed, 1 failed" and "Traceback" not in err
    code, lines, err = _summary(tmp_path, "{not json")
    assert code == 1 and lines[-1] == "0 passed, 1 failed" and "Traceback" not in err
