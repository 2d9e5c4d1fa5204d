"""How route-impact rows and number lists read in one line, for every renderer and `--force`.

Numbers are written as the spec writes them (ranges, sipconf.plan.ranges) and a line never
lists more than a few entries: past them it counts the rest, so a row for 10,000 scattered
numbers stays one short line. The JSON plan keeps every entry.
"""

from __future__ import annotations

from typing import Sequence

from sipconf.plan.changes import OTHER_CALLER, RouteChange
from sipconf.plan.ranges import collapse, count

# Entries of a number list shown in one line before "… and N more".
MAX_ENTRIES = 6


def entries_label(entries: Sequence[str], *, unit: str = "", limit: int = MAX_ENTRIES) -> str:
    """`+15105550100..+15105550119, +15105550150 (21 numbers)`: the first `limit` entries, how
    many more, and the count when it is not plain from the entries."""
    text, total = entries_parts(entries, unit=unit, limit=limit)
    return f"{text} {total}" if total else text


def entries_parts(entries: Sequence[str], *, unit: str = "", limit: int = MAX_ENTRIES) -> tuple[str, str]:
    """(the entries shown, `(21 numbers)` or "" when the count is plain from them)."""
    shown = list(entries[:limit])
    text = ", ".join(shown)
    if len(entries) > limit:
        text += f", … and {len(entries) - limit} more"
    total = count(entries)
    return text, (f"({total:,}{' ' + unit if unit else ''})" if total > len(shown) else "")


def numbers_label(numbers: Sequence[str], *, unit: str = "numbers") -> str:
    return entries_label(collapse(numbers), unit=unit)


def via(row: RouteChange) -> str:
    """` from 127.0.1.0/24; callers +14085550000..+14085550099 (100)`, or "" for every call."""
    parts = []
    if row.sources is not None:
        parts.append(", ".join(s or "any source" for s in row.sources))
    if row.callers is not None:
        parts.append(callers_label(row))
    return f" from {'; '.join(parts)}" if parts else ""


def callers_label(row: RouteChange) -> str:
    numbers = row.caller_numbers
    text = ""
    if numbers:
        word = "caller" if len(numbers) == 1 else "callers"
        text = f"{word} {numbers_label(numbers, unit='')}"
    if OTHER_CALLER in (row.callers or ()):
        text = f"{text}, {OTHER_CALLER}" if text else OTHER_CALLER
    return text


def row_label(row: RouteChange) -> str:
    """The numbers of a row and where their calls come from."""
    return numbers_label(row.numbers) + via(row)


# Route-impact rows a plan shows unless asked for all (`--impact all`).
DEFAULT_IMPACT_ROWS = 50
MORE_ROWS = "… and {more} more; --impact all"


def capped(rows: Sequence[RouteChange], limit: int | None) -> tuple[Sequence[RouteChange], int]:
    """(the rows to show, how many are left out); `limit` None shows every row."""
    if limit is None or len(rows) <= limit:
        return rows, 0
    return rows[:limit], len(rows) - limit
