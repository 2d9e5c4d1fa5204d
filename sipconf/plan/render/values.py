"""How one field value is shown; shared by the text and markdown renderers."""

from __future__ import annotations

import json
from typing import Any

from sipconf.plan.changes import FieldChange
from sipconf.plan.elements import ListDelta, MapDelta

UNSET = "(unset)"
# A reorder shows the kept elements in both orders when there are this few; past that, a count.
SHOW_ORDER_MAX = 8


def value(v: Any) -> str:
    if v is None:
        return UNSET
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def sensitive(change: FieldChange) -> str:
    """`(sensitive, changed) a1b2c3d4 -> e5f6a7b8`; never the value itself."""
    if change.before == change.after:
        return f"(sensitive, unchanged) {change.after or UNSET}"
    return f"(sensitive, changed) {change.before or UNSET} -> {change.after or UNSET}"


def field_lines(change: FieldChange, action: str) -> list[tuple[str, str]]:
    """(symbol, text) lines of one field: one line, or one per element when a list or map
    that is set on both sides changes (`numbers: +"+15105550151"`, `attributes: ~"team": ...`)."""
    elements = change.delta
    if action in ("create", "delete") or change.before is None or change.after is None or elements is None:
        return [field_line(change, action)]
    if isinstance(elements, ListDelta):
        return list_lines(change.path, elements)
    return map_lines(change.path, elements)


def list_lines(path: str, elements: ListDelta) -> list[tuple[str, str]]:
    lines = [("+", f"{path}: +{value(v)}") for v in elements.added]
    lines += [("-", f"{path}: -{value(v)}") for v in elements.removed]
    if elements.reordered:
        n = len(elements.kept_after)
        if n <= SHOW_ORDER_MAX:
            order = f"{value(list(elements.kept_before))} -> {value(list(elements.kept_after))}"
        else:
            order = f"{n} elements"
        lines.append(("~", f"{path}: order changed: {order}"))
    return lines


def map_lines(path: str, elements: MapDelta) -> list[tuple[str, str]]:
    lines = [("+", f"{path}: +{value(k)}: {value(v)}") for k, v in elements.added.items()]
    lines += [("-", f"{path}: -{value(k)}: {value(v)}") for k, v in elements.removed.items()]
    lines += [("~", f"{path}: ~{value(k)}: {value(b)} -> {value(a)}") for k, (b, a) in elements.changed.items()]
    return lines


def field_line(change: FieldChange, action: str) -> tuple[str, str]:
    """(symbol, text) of one field of a Create, Update or Delete, as a whole value."""
    if change.sensitive:
        symbol = " " if change.before == change.after else ("+" if change.before is None else "~")
        if change.after is None:
            symbol = "-"
        return symbol, f"{change.path} = {sensitive(change)}"
    if action == "create" or change.before is None:
        return "+", f"{change.path} = {value(change.after)}"
    if action == "delete" or change.after is None:
        return "-", f"{change.path} = {value(change.before)}"
    return "~", f"{change.path}: {value(change.before)} -> {value(change.after)}"
