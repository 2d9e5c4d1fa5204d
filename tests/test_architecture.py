"""Dependency rules between sipconf's packages, checked on every import statement.

Every module under sipconf/ and simulator/ is parsed (not imported) and all of its imports
are collected, including those inside functions and under `if TYPE_CHECKING:`, with relative
imports resolved. Each violation reads `module: imports X (rule name)`.

The rules:
- pure-core: sipconf.sip, sipconf.routing, sipconf.validation and sipconf.outbound do no I/O,
  so they import none of the I/O modules below (calls on `os` are not looked at);
- core-layers: sipconf.sip (the wire, and Go's string forms its error texts follow) imports
  nothing else of sipconf; sipconf.routing only sip and itself; sipconf.validation only sip,
  routing and itself; sipconf.outbound only sip, routing, validation and itself;
- bridge-without-control-plane: sipconf.bridge imports nothing from sipconf.local;
- simulator-through-the-api: the simulator never imports sipconf.bridge or sipconf.local;
- agent-on-sip-only: sipconf.agent imports, of this project, only sipconf.sip (and itself);
- compiler-offline: the compiler (sipconf.spec, sipconf.model, sipconf.checks, sipconf.plan,
  sipconf.livekit) never imports sipconf.bridge or sipconf.local.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("sipconf", "simulator")

IO_MODULES = (
    "asyncio", "socket", "ssl", "selectors", "subprocess", "threading",
    "http", "urllib", "aiohttp", "logging", "sqlite3",
)
CORE = ("sipconf.sip", "sipconf.routing", "sipconf.validation", "sipconf.outbound")
CORE_MAY_IMPORT = {
    "sipconf.sip": ("sipconf.sip",),
    "sipconf.routing": ("sipconf.sip", "sipconf.routing"),
    "sipconf.validation": ("sipconf.sip", "sipconf.routing", "sipconf.validation"),
    "sipconf.outbound": ("sipconf.routing", "sipconf.validation", "sipconf.sip", "sipconf.outbound"),
}
RUNTIME = ("sipconf.bridge", "sipconf.local")
COMPILER = ("sipconf.spec", "sipconf.model", "sipconf.checks", "sipconf.plan", "sipconf.livekit")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (or module.name for `from module import name`)
    line: int


def within(name: str, packages: tuple[str, ...] | str) -> bool:
    packages = (packages,) if isinstance(packages, str) else packages
    return any(name == p or name.startswith(p + ".") for p in packages)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool) -> list[Import]:
    """Every import in `source`, wherever it stands, as absolute dotted names."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found += [Import(module, f"{base}.{alias.name}" if alias.name != "*" else base, node.lineno) for alias in node.names]
    return found


def project_modules() -> dict[str, list[Import]]:
    modules: dict[str, list[Import]] = {}
    for top in PROJECT:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            name = module_name(path)
            modules[name] = imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    return modules


MODULES = project_modules()


def shown(target: str) -> str:
    """`from pkg.mod import name` is shown as pkg.mod unless `name` is itself a module."""
    head, _, tail = target.rpartition(".")
    if not head or not within(target, PROJECT):
        return target
    as_path = ROOT.joinpath(*target.split("."))
    return target if as_path.is_dir() or as_path.with_suffix(".py").is_file() else head


def violations(rule: str, applies_to, forbidden) -> list[str]:
    return sorted(
        {
            f"{imp.module}: imports {shown(imp.target)} (rule {rule}, line {imp.line})"
            for module, found in MODULES.items()
            if applies_to(module)
            for imp in found
            if forbidden(module, imp.target)
        }
    )


def own_package(module: str, packages: tuple[str, ...]) -> str:
    return next(p for p in packages if within(module, p))


def test_pure_core_does_no_io():
    found = violations("pure-core", lambda m: within(m, CORE), lambda m, t: within(t, IO_MODULES))
    assert not found, "\n".join(found)


def test_core_layers():
    found = violations(
        "core-layers",
        lambda m: within(m, CORE),
        lambda m, t: within(t, PROJECT) and not within(t, CORE_MAY_IMPORT[own_package(m, CORE)]),
    )
    assert not found, "\n".join(found)


def test_bridge_does_not_import_the_control_plane():
    found = violations(
        "bridge-without-control-plane", lambda m: within(m, "sipconf.bridge"), lambda m, t: within(t, "sipconf.local")
    )
    assert not found, "\n".join(found)


def test_simulator_goes_through_the_api():
    found = violations("simulator-through-the-api", lambda m: within(m, "simulator"), lambda m, t: within(t, RUNTIME))
    assert not found, "\n".join(found)


def test_agent_uses_only_the_sip_package():
    found = violations(
        "agent-on-sip-only",
        lambda m: within(m, "sipconf.agent"),
        lambda m, t: within(t, PROJECT) and not within(t, ("sipconf.agent", "sipconf.sip")),
    )
    assert not found, "\n".join(found)


def test_compiler_works_without_the_runtime():
    found = violations("compiler-offline", lambda m: within(m, COMPILER), lambda m, t: within(t, RUNTIME))
    assert not found, "\n".join(found)


def test_the_scan_sees_every_kind_of_import():
    source = (
        "import asyncio\n"
        "from .. import local\n"
        "from .headers import parse\n"
        "def later():\n"
        "    from sipconf.local.rooms import Rooms\n"
        "    import socket as s\n"
        "if False:\n"
        "    from ...simulator import runner\n"
    )
    targets = {imp.target for imp in imports_of(source, "sipconf.bridge.calls", is_package=True)}
    assert targets == {
        "asyncio", "sipconf.bridge.local", "sipconf.bridge.calls.headers.parse",
        "sipconf.local.rooms.Rooms", "socket", "sipconf.simulator.runner",
    }
    module_targets = {imp.target for imp in imports_of("from . import x\n", "sipconf.sip.dtmf", is_package=False)}
    assert module_targets == {"sipconf.sip.x"}


def test_every_package_a_rule_names_is_scanned():
    # A rule about a package that does not exist yet (sipconf.agent) holds vacuously; the
    # others must see modules, or a rename would silently switch them off.
    for package in (*CORE, *RUNTIME, *COMPILER, "simulator"):
        assert any(within(m, package) for m in MODULES), package
