"""Environment overlays: `environments: {prod: {url, trunks: {...}, dispatch_rules: {...}}}`.

The chosen overlay is deep-merged per object over the base document before validation:
mappings merge key by key, anything else (scalars, lists) replaces. Positions follow the
data, so an overridden field's errors point at the overlay line.

An overlay changes objects of the base spec; it never adds one. A trunk, trunk half or rule
named only in an overlay is an error in every environment, chosen or not: a typo'd trunk
name would otherwise become a new trunk with no numbers, which takes every call from its
addresses in that environment alone, where no one reads the base spec's review.
"""

from __future__ import annotations

import copy
from typing import Any

from sipconf.issues import Issue
from sipconf.spec.yamlsrc import Path, Positions

OBJECT_SECTIONS = ("trunks", "dispatch_rules")
_SINGULAR = {"trunks": "trunk", "dispatch_rules": "dispatch rule"}
TRUNK_HALVES = ("inbound", "outbound")
ADDS_OBJECT = "overlay-adds-object"
NEVER_ADDS = "an overlay changes the base spec's objects, it never adds one"


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
            if name not in base:
                continue  # reported by overlay_issues: an overlay never adds an object
            if section == "trunks" and isinstance(fields, dict):
                fields = {k: v for k, v in fields.items() if k not in TRUNK_HALVES or _has_half(base[name], k)}
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


def overlay_issues(doc: dict[str, Any], positions: Positions) -> list[Issue]:
    """Every overlay key, in every environment, that names no object of the base spec."""
    envs = doc.get("environments")
    issues: list[Issue] = []
    for env, overlay in envs.items() if isinstance(envs, dict) else ():
        for section in OBJECT_SECTIONS:
            objects = overlay.get(section) if isinstance(overlay, dict) else None
            base = doc.get(section)
            base = base if isinstance(base, dict) else {}
            for name, fields in objects.items() if isinstance(objects, dict) else ():
                path: Path = ("environments", env, section, name)
                if name not in base:
                    issues.append(_unknown_object(doc, path, section, str(name), base, positions))
                elif section == "trunks" and isinstance(fields, dict):
                    issues += [
                        _missing_half(path + (half,), str(name), half, positions)
                        for half in TRUNK_HALVES if half in fields and not _has_half(base[name], half)
                    ]
    return issues


def _has_half(trunk: Any, half: str) -> bool:
    return isinstance(trunk, dict) and trunk.get(half) is not None


def _label(path: Path) -> str:
    return ".".join(str(part) for part in path)


def _unknown_object(doc: dict[str, Any], path: Path, section: str, name: str, base: dict, positions: Positions) -> Issue:
    import difflib  # only a spec with this error needs it

    what = _SINGULAR[section]
    close = difflib.get_close_matches(name, [str(k) for k in base], n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    other = next(s for s in OBJECT_SECTIONS if s != section)
    others = doc.get(other)
    if not close and isinstance(others, dict) and name in others:
        hint = f" ('{name}' is a {_SINGULAR[other]}: put it under {_label(path[:2] + (other,))})"
    text = f"{_label(path)}: the base spec has no {what} '{name}'{hint}; {NEVER_ADDS}"
    return Issue("error", ADDS_OBJECT, text, positions.key(path))


def _missing_half(path: Path, name: str, half: str, positions: Positions) -> Issue:
    return Issue(
        "error", ADDS_OBJECT,
        f"{_label(path)}: the base trunk '{name}' has no {half} half; {NEVER_ADDS}",
        positions.key(path),
    )
