"""Shared fixtures. The caller's LiveKit credentials never reach a test.

Tests with a full-size version read `SIPCONF_SOAK` (`make soak` sets it to 1) and pick their
size from it; the short size always runs. Such a test gets the `soak` marker here, so `make
soak` selects it with `-m soak`: one that reads the variable itself, through a module-level
constant or function set from it, or through a fixture that does. `@pytest.mark.soak` on a
test works as well.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SOAK_VARIABLE = "SIPCONF_SOAK"

for _name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
    os.environ.pop(_name, None)


@pytest.fixture
def public_vectors() -> Path:
    """LiveKit's test vectors, as copied into the repository (tests/data/README.md)."""
    return DATA / "livekit-vectors.json"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    sized_names: dict[str, set[str]] = {}  # module -> its names whose definition reads SIPCONF_SOAK
    for item in items:
        module, function = getattr(item, "module", None), getattr(item, "function", None)
        if module is None or function is None or item.get_closest_marker("soak"):
            continue
        if module.__name__ not in sized_names:
            sized_names[module.__name__] = _soak_sized_names(module)
        names = sized_names[module.__name__]
        try:
            source = inspect.getsource(function)  # decorators (parametrize) included
        except (OSError, TypeError):
            continue
        used = set(re.findall(r"\w+", source)) | set(getattr(item, "fixturenames", ()))
        if SOAK_VARIABLE in source or names & used:
            item.add_marker(pytest.mark.soak)


def _soak_sized_names(module) -> set[str]:
    """Module-level constants, functions and fixtures whose definition reads SIPCONF_SOAK."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return set()
    if SOAK_VARIABLE not in source:
        return set()
    names: set[str] = set()
    for node in ast.parse(source).body:
        if SOAK_VARIABLE not in (ast.get_source_segment(source, node) or ""):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)}
    return names
