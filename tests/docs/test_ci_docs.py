"""docs/ci.md and docs/examples/github-actions.yml name only commands and flags sipconf has."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "docs" / "ci.md", ROOT / "docs" / "examples" / "github-actions.yml"]
COMMAND = re.compile(r"\bsipconf (validate|plan|apply|test|import|up|explain)\b([^`\n]*)")


def _help(cmd: str) -> str:
    out = subprocess.run([sys.executable, "-m", "sipconf", cmd, "--help"], capture_output=True, text=True, check=True)
    return out.stdout


def test_every_flag_in_the_ci_docs_exists() -> None:
    helps: dict[str, str] = {}
    used: list[tuple[str, str]] = []
    for file in FILES:
        for cmd, rest in COMMAND.findall(file.read_text(encoding="utf-8")):
            used += [(cmd, flag) for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest)]
    assert ("test", "--spec") in used and ("plan", "--detailed-exitcode") in used
    missing = [(cmd, flag) for cmd, flag in used
               if flag not in helps.setdefault(cmd, _help(cmd)).replace(",", " ").split()]
    assert missing == []


def test_the_example_workflow_is_yaml_and_installs_what_exists() -> None:
    flow = YAML(typ="safe").load(FILES[1].read_text(encoding="utf-8"))
    assert set(flow["jobs"]) == {"suite", "plan", "apply"}
    runs = "\n".join(step.get("run", "") for job in flow["jobs"].values() for step in job["steps"])
    assert "pip install sipconf" not in runs  # not published; installed from git at a pinned ref
    assert "git+" in flow["env"]["SIPCONF_PIP"]
    assert "sudo apt-get update\n" in runs
    assert flow["jobs"]["apply"]["concurrency"] == {"group": "sipconf-apply-prod", "cancel-in-progress": False}
