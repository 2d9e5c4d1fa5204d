"""Spec versions: every readable version and how it becomes the current one.

`MIGRATIONS[n]` turns a version-n document into a version-(n+1) document (plain data and
positions). Version 1 is current, so the table is empty and v1 loads as is (identity).
A later v2 adds `MIGRATIONS[1]` and bumps CURRENT_VERSION; v1 files then keep loading.
"""

from __future__ import annotations

from typing import Any, Callable

from sipconf.spec.yamlsrc import Positions

CURRENT_VERSION = 1
Migration = Callable[[dict[str, Any], Positions], tuple[dict[str, Any], Positions]]
MIGRATIONS: dict[int, Migration] = {}
SUPPORTED = tuple(sorted(set(MIGRATIONS) | {CURRENT_VERSION}))


class VersionError(ValueError):
    """The document's version cannot be read by this sipconf."""


def check_version(doc: dict[str, Any]) -> int:
    if "version" not in doc:
        raise VersionError(f"missing 'version: {CURRENT_VERSION}' at the top of the spec")
    version = doc["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise VersionError(f"version must be an integer, got '{version}'")
    if version not in SUPPORTED:
        known = ", ".join(str(v) for v in SUPPORTED)
        raise VersionError(f"unsupported spec version {version} (this sipconf reads version {known})")
    return version


def migrate(doc: dict[str, Any], positions: Positions) -> tuple[dict[str, Any], Positions]:
    """Upgrade `doc` step by step to CURRENT_VERSION (its version must be supported)."""
    version = check_version(doc)
    while version < CURRENT_VERSION:
        doc, positions = MIGRATIONS[version](doc, positions)
        version += 1
        doc["version"] = version
    return doc, positions
