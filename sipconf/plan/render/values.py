"""How one field value is shown; shared by the text and markdown renderers."""

from __future__ import annotations

import json
from typing import Any

from sipconf.plan.changes import FieldChange

UNSET = "(unset)"


def value(v: Any) -> str:
    if v is None:
        return UNSET
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def sensitive(change: FieldChange) -> str:
    """`(sensitive, changed) a1b2c3d4 -> e5f6a7b8`; never the value itself."""
    if change.before == change.after:
        return f"(sensitive, unchanged) {change.after or UNSET}"
    return f"(sensitive, changed) {change.before or UNSET} -> {change.after or UNSET}"


def field_line(change: FieldChange, action: str) -> tuple[str, str]:
    """(symbol, text) of one field of a Create, Update or Delete."""
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
