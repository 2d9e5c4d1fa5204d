"""`sipconf status` as text (one aligned table per kind, like `lk sip ... list`) or JSON
(the same rows, every number, for tools)."""

from __future__ import annotations

import json

from sipconf.model.kinds import INBOUND, KINDS, OUTBOUND, RULE
from sipconf.plan.status import KIND_TITLES, OTHER_PROJECT, Status, StatusRow

# (heading, field) per column after NAME, OWNER and ID; lists are joined with ", ".
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    INBOUND: (("NUMBERS", "numbers"), ("ALLOWED ADDRESSES", "allowed_addresses"),
              ("ALLOWED NUMBERS", "allowed_numbers"), ("AUTH", "auth")),
    OUTBOUND: (("ADDRESS", "address"), ("TRANSPORT", "transport"), ("NUMBERS", "numbers"), ("AUTH", "auth")),
    RULE: (("TRUNKS", "trunks"), ("KIND", "kind"), ("ROOM", "room"), ("PIN", "pin"),
           ("NUMBERS", "numbers"), ("CALLERS", "inbound_numbers")),
}
SHOWN_ENTRIES = 3  # number entries (ranges count as one) shown in a cell; JSON has them all
JSON_KEYS = {INBOUND: "inbound_trunks", OUTBOUND: "outbound_trunks", RULE: "dispatch_rules"}


def render_status_text(status: Status) -> str:
    out = [f"Project {status.project} at {status.url}"]
    for kind in KINDS:
        rows = status.tables[kind]
        out += ["", f"{KIND_TITLES[kind]} ({len(rows)})"]
        if not rows:
            out.append("  (none)")
            continue
        headings = ("NAME", "OWNER", "ID") + tuple(h for h, _ in COLUMNS[kind])
        cells = [headings] + [_cells(kind, row) for row in rows]
        widths = [max(len(line[i]) for line in cells) for i in range(len(headings))]
        out += ["  " + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    out += ["", _ledger_line(status)]
    return "\n".join(out) + "\n"


def render_status_json(status: Status) -> str:
    doc: dict[str, object] = {"url": status.url, "project": status.project}
    for kind in KINDS:
        doc[JSON_KEYS[kind]] = [_json_row(row) for row in status.tables[kind]]
    doc["ledgers"] = {project: list(ids) for project, ids in status.ledgers.items()}
    return json.dumps(doc, indent=2) + "\n"


def owner_label(row: StatusRow) -> str:
    if row.owner == OTHER_PROJECT:
        return f"project {row.project}"
    return row.owner


def _cells(kind: str, row: StatusRow) -> tuple[str, ...]:
    return (_safe(row.name) or "-", owner_label(row), row.id) + tuple(
        _cell(field, row.fields[field]) for _, field in COLUMNS[kind]
    )


def _cell(field: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "-"
    if isinstance(value, list):
        if not value:
            return "any" if field == "trunks" else "-"
        shown = ", ".join(_safe(str(v)) for v in value[:SHOWN_ENTRIES])
        return shown + (f", +{len(value) - SHOWN_ENTRIES} more" if len(value) > SHOWN_ENTRIES else "")
    return _safe(str(value)) or "-"


def _safe(text: str) -> str:
    """Names and addresses come from whoever wrote the live objects: never let one write
    control characters (an ANSI escape, a newline forging a row) into the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _json_row(row: StatusRow) -> dict[str, object]:
    return {"name": row.name, "id": row.id, "owner": row.owner, "project": row.project, **row.fields}


def _ledger_line(status: Status) -> str:
    if not status.ledgers:
        return f"No sipconf ledger in this target: nothing here is managed by project {status.project} yet."
    parts = []
    for project, ids in status.ledgers.items():
        mine = " (this project)" if project == status.project else ""
        parts.append(f"{project}{mine} in {len(ids)} trunk{'' if len(ids) == 1 else 's'}")
    return "Ledgers: " + "; ".join(parts) + " (outbound trunks named sipconf-ledger:<project>, docs/ownership.md)"

