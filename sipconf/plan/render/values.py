"""How one field reads, as the spec writes it; shared by the text and markdown renderers.

Values are written in YAML's flow style (`udp`, `1h`, `[PCMU, PCMA]`, `{X-Tier: customer.tier}`),
so a line of the plan reads like the line of the spec it comes from. A create shows each key
of the spec object once (`auth: {username: acme, password: (sensitive) 1a2b3c4d}`); an update
shows what changed: a list or map per element, a list of numbers as the ranges added and
removed, never one line per number. Secrets never show a value (sipconf.plan.changes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from sipconf.plan.changes import FieldChange
from sipconf.plan.elements import ListDelta, MapDelta, NumberDelta
from sipconf.plan.labels import entries_label, entries_parts
from sipconf.plan.ranges import collapse

UNSET = "(unset)"
# A reorder shows the kept elements in both orders when there are this few; past that, a count.
SHOW_ORDER_MAX = 8
# Elements of a list shown in one line before "… and N more".
MAX_ELEMENTS = 8

# A string that YAML would read back as itself, unquoted, in a flow collection.
_PLAIN = re.compile(r"[A-Za-z0-9_+/.<>()=$^~-][A-Za-z0-9_+/.<>()=$^~:@-]*(?: [A-Za-z0-9_+/.<>()=$^~:@-]+)*", re.ASCII)
_NOT_A_STRING = re.compile(
    r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+"
    r"|true|false|yes|no|on|off|null|~|\.inf|\.nan|-\.inf",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Line:
    """One line of a field: `+`, `-`, `~` or ` ` (unchanged), the text, and the spec origin."""

    symbol: str
    text: str
    origin: str | None = None


class Shown(str):
    """Text shown as it is inside a flow value (a secret marker, a list of ranges)."""


def value(v: Any) -> str:
    """`v` in YAML flow style."""
    if v is None:
        return UNSET
    if isinstance(v, Shown):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_elements(v)) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_string(str(k))}: {value(item)}" for k, item in v.items()) + "}"
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def _string(s: str) -> str:
    if _PLAIN.fullmatch(s) and not _NOT_A_STRING.fullmatch(s) and not s.endswith(":") and ": " not in s:
        return s
    if "'" not in s and s.isprintable():
        return f"'{s}'"
    return json.dumps(s, ensure_ascii=False)


def _elements(items: list[Any]) -> list[str]:
    shown = [value(item) for item in items[:MAX_ELEMENTS]]
    if len(items) > MAX_ELEMENTS:
        shown.append(f"… and {len(items) - MAX_ELEMENTS} more")
    return shown


def numbers(listed: list[str] | None) -> str:
    """A whole list of numbers: `[+15105550100..+15105550119, +15105550150] (21)`."""
    if listed is None:
        return UNSET
    text, total = entries_parts(collapse(listed))
    return f"[{text}] {total}" if total else f"[{text}]"


def secret(change: FieldChange, shown: str | None) -> str:
    """A secret by state: `(sensitive)`, plus a password's fingerprint; never a value."""
    return "(sensitive)" + (f" {shown}" if shown and change.path == "auth.password" else "")


# -- a create: one line per key of the spec object ------------------------------------------


def create_lines(fields: Iterable[FieldChange]) -> list[Line]:
    """`key: value` per top-level key of the object, its sub-keys in one flow mapping."""
    groups: dict[str, list[FieldChange]] = {}
    for field in fields:
        groups.setdefault(field.path.split(".")[0], []).append(field)
    lines = []
    for top, group in groups.items():
        if len(group) == 1 and group[0].path == top:
            lines.append(Line("+", f"{top}: {_whole(group[0])}"))
            continue
        nested: dict[str, Any] = {}
        for field in group:
            *parents, leaf = field.path.split(".")[1:]
            target = nested
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = Shown(_whole(field))
        lines.append(Line("+", f"{top}: {value(nested)}"))
    return lines


def _whole(field: FieldChange) -> str:
    if field.sensitive:
        return secret(field, field.after)
    if field.is_numbers:
        return numbers(field.after)
    return value(field.after)


# -- an update (and unmanaged drift): what changed, per element ------------------------------


def update_lines(field: FieldChange) -> list[Line]:
    """The lines of one field of an update: one, or one per added/removed/changed part."""
    lines = _update_lines(field)
    return [Line(line.symbol, line.text, field.origin) for line in lines]


def _update_lines(field: FieldChange) -> list[Line]:
    path = field.path
    if field.sensitive:
        return [_secret_line(field)]
    elements = field.delta
    if isinstance(elements, NumberDelta):
        return _number_lines(path, elements)
    if field.before is None:
        return [Line("+", f"{path}: {value(field.after)}")]
    if field.after is None:
        return [Line("-", f"{path}: {value(field.before)}")]
    if isinstance(elements, ListDelta):
        return _list_lines(path, elements)
    if isinstance(elements, MapDelta):
        return _map_lines(path, elements)
    return [Line("~", f"{path}: {value(field.before)} -> {value(field.after)}")]


def _secret_line(field: FieldChange) -> Line:
    fingerprints = field.path == "auth.password"
    if not field.changed:
        shown = f" {field.after}" if fingerprints and field.after else ""
        return Line(" ", f"{field.path}: (sensitive, unchanged){shown}")
    if field.before is None:
        return Line("+", f"{field.path}: {secret(field, field.after)}")
    if field.after is None:
        return Line("-", f"{field.path}: (sensitive, removed)")
    shown = f" {field.before} -> {field.after}" if fingerprints else ""
    return Line("~", f"{field.path}: (sensitive, changed){shown}")


def _number_lines(path: str, elements: NumberDelta) -> list[Line]:
    lines = []
    if elements.added:
        lines.append(Line("+", f"{path}: {entries_label(elements.added)}"))
    if elements.removed:
        lines.append(Line("-", f"{path}: {entries_label(elements.removed)}"))
    if elements.reordered:
        lines.append(Line("~", f"{path}: order changed"))
    return lines


def _list_lines(path: str, elements: ListDelta) -> list[Line]:
    lines = []
    if elements.added:
        lines.append(Line("+", f"{path}: {', '.join(_elements(list(elements.added)))}"))
    if elements.removed:
        lines.append(Line("-", f"{path}: {', '.join(_elements(list(elements.removed)))}"))
    if elements.reordered:
        n = len(elements.kept_after)
        if n <= SHOW_ORDER_MAX:
            order = f"{value(list(elements.kept_before))} -> {value(list(elements.kept_after))}"
        else:
            order = f"{n} elements"
        lines.append(Line("~", f"{path}: order changed: {order}"))
    return lines


def _map_lines(path: str, elements: MapDelta) -> list[Line]:
    lines = [Line("+", f"{path}.{k}: {value(v)}") for k, v in elements.added.items()]
    lines += [Line("-", f"{path}.{k}: {value(v)}") for k, v in elements.removed.items()]
    lines += [Line("~", f"{path}.{k}: {value(b)} -> {value(a)}") for k, (b, a) in elements.changed.items()]
    return lines


def where(origin: str | None) -> str:
    """`spec.yaml:12` of a `file:line:col` origin; "" when there is none."""
    if not origin:
        return ""
    head, _, col = origin.rpartition(":")
    return head if col.isdigit() and head else origin
