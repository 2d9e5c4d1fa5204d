"""The plan calls LiveKit I/O, never the other way round: sipconf.livekit reads and writes,
and imports nothing that decides (the plan, the spec loader, the checks)."""

from __future__ import annotations

import ast
from pathlib import Path

import sipconf.livekit

DECIDERS = ("sipconf.plan", "sipconf.spec", "sipconf.checks", "sipconf.commands", "simulator")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_livekit_io_imports_nothing_that_decides():
    package = Path(sipconf.livekit.__file__).parent
    wrong = sorted(
        f"{path.name} imports {module}"
        for path in package.glob("*.py")
        for module in imported_modules(path)
        if module.startswith(DECIDERS)
    )
    assert wrong == []
