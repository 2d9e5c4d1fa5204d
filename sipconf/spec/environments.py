"""Environment overlays: `environments: {prod: {url, trunks: {...}, dispatch_rules: {...}}}`.

The chosen overlay is deep-merged per object over the base document before validation:
mappings merge key by key, anything else (scalars, lists) replaces. Positions follow the
data, so an overridden field's errors point at the overlay line.
"""

from __future__ import annotations

import copy
from typing import Any

from sipconf.issues import Issue
from sipconf.spec.yamlsrc import Path, Positions

OBJECT_SECTIONS = ("trunks", "dispatch_rules")


def known_environments(doc: dict[str, Any]) -> list[str]:
    envs = doc.get("environments")
    return sorted(str(k) for k in envs) if isinstance(envs, dict) else []


def apply_environment(doc: dict[str, Any], positions: Positions, env: str) -> tuple[dict[str, Any], str | None, list[Issue]]:
    """(merged document, the environment's url, issues). `doc` and `positions` are not changed
    in place except that `positions` gains the overlay's positions at their merged paths."""
    known = known_environments(doc)
    if env not in known:
        listed = ", ".join(known) if known else "none are defined"
        where = positions.key(("environments",)) if "environments" in doc else positions.value(())
        return doc, None, [Issue("error", "unknown-environment", f"unknown environment '{env}' (known: {listed})", where)]
    overlay = doc["environments"][env]
    if not isinstance(overlay, dict):
        return doc, None, []  # pydantic reports the wrong type at its position
    merged = copy.deepcopy(doc)
    for section in OBJECT_SECTIONS:
        objects = overlay.get(section)
        if not isinstance(objects, dict):
            continue
        base = merged.setdefault(section, {})
        if not isinstance(base, dict):
            continue
        src: Path = ("environments", env, section)
        for name, fields in objects.items():
            _merge_into(base, name, fields, positions, src + (name,), (section, name))
    url = overlay.get("url")
    return merged, url if isinstance(url, str) else None, []


def _merge_into(target: dict, key: Any, value: Any, positions: Positions, src: Path, dst: Path) -> None:
    current = target.get(key)
    if isinstance(current, dict) and isinstance(value, dict):
        for sub_key, sub_value in value.items():
            _merge_into(current, sub_key, sub_value, positions, src + (sub_key,), dst + (sub_key,))
        return
    target[key] = copy.deepcopy(value)
    positions.drop(dst)
    positions.graft(dst, positions.subtree(src))
