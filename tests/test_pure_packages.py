"""The pure packages (routing, validation, outbound rules, SIP wire formats) import no I/O:
no event loop, sockets, processes, threads, files or logging, and none of the packages that
do (the bridge, the control plane, the simulator). The bridge translates I/O errors before
they reach them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sipconf

PURE_PACKAGES = ("routing", "validation", "outbound", "sip")
IO_MODULES = frozenset({
    "aiohttp", "asyncio", "concurrent", "http", "io", "logging", "multiprocessing", "os", "select",
    "selectors", "shutil", "signal", "socket", "socketserver", "sqlite3", "ssl", "subprocess", "sys",
    "tempfile", "threading", "time", "urllib",
})
IO_PACKAGES = ("sipconf.bridge", "sipconf.local", "sipconf.livekit", "sipconf.commands", "simulator")

ROOT = Path(sipconf.__file__).parent
SOURCES = sorted(path for package in PURE_PACKAGES for path in (ROOT / package).glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_pure_packages_are_found() -> None:
    assert {path.parent.name for path in SOURCES} == set(PURE_PACKAGES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_io_imports(path: Path) -> None:
    modules = imported_modules(path)
    io = sorted(m for m in modules if m.split(".")[0] in IO_MODULES)
    assert io == [], f"{path.parent.name}/{path.name} imports I/O modules"
    impure = sorted(m for m in modules if m.startswith(IO_PACKAGES))
    assert impure == [], f"{path.parent.name}/{path.name} imports packages that do I/O"
