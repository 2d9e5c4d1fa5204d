"""Every broken spec in tests/spec/bad/ fails `sipconf validate` with exactly its expected lines.

Each file ends with comments: `# expect: {file}:L:C: error|warning: ... [code]` (one per issue, in
output order) and optionally `# args: ...` for extra CLI arguments. The command runs in a
subprocess, as a user would run it: exit 1, those lines, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))
UNSET = "SIPCONF_TEST_UNSET_PASSWORD"


def _expectations(path: Path) -> tuple[list[str], list[str]]:
    expect, args = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect: "):
            expect.append(line[len("# expect: "):].replace("{file}", path.name))
        elif line.startswith("# args: "):
            args.extend(line[len("# args: "):].split())
    return expect, args


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_spec(path: Path):
    expect, args = _expectations(path)
    assert expect, f"{path.name} has no '# expect:' line"
    env = {k: v for k, v in os.environ.items() if k != UNSET}
    result = subprocess.run(
        [sys.executable, "-m", "sipconf", "validate", path.name, *args],
        cwd=BAD,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode == 1, output
    lines = result.stdout.splitlines()
    assert lines[:-1] == expect
    errors = sum(": error: " in line for line in expect)
    warnings = len(expect) - errors
    assert lines[-1] == (
        f"failed: {errors} error{'' if errors == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'} ({path.name})"
    )
