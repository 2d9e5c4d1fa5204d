"""Numbers as the spec writes them: runs of consecutive numbers collapse into ranges.

A spec lists `"+15105550100..+15105550119"` for twenty numbers (sipconf.spec.numbers expands
it); a plan and `sipconf import` write numbers the same way, so a 10,000-number trunk is one
entry, not 10,000. `collapse` is the inverse of that expansion: `expand_entries(collapse(x))
== x` for any list, order and duplicates included, because only an ascending run of numbers
that differ by one (same width, same leading `+`) becomes a range.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from sipconf.spec.numbers import RANGE_SEP, expand

# From three numbers on a range is shorter than the numbers it stands for.
MIN_RUN = 3
_DIGITS = re.compile(r"(\+?)([0-9]+)", re.ASCII)


def collapse(numbers: Sequence[str]) -> list[str]:
    """`numbers` in order, each ascending run of MIN_RUN or more consecutive numbers as `first..last`."""
    out: list[str] = []
    run: list[str] = []
    for number in numbers:
        if run and _follows(run[-1], number):
            run.append(number)
            continue
        out += _entries(run)
        run = [number]
    return out + _entries(run)


def collapse_sorted(numbers: Iterable[str]) -> list[str]:
    """The distinct `numbers`, sorted (numerically within one width), as ranges."""
    return collapse(sorted(set(numbers), key=sort_key))


def expand_entries(entries: Iterable[str]) -> list[str]:
    """Every number of spec-form entries (the inverse of `collapse`)."""
    return [number for entry in entries for number in (expand(entry) if _is_range(entry) else [entry])]


def count(entries: Iterable[str]) -> int:
    """How many numbers spec-form entries stand for, without expanding them."""
    total = 0
    for entry in entries:
        if _is_range(entry):
            first, _sep, last = entry.partition(RANGE_SEP)
            total += int(last.lstrip("+")) - int(first.lstrip("+")) + 1
        else:
            total += 1
    return total


def sort_key(number: str) -> tuple:
    """Phone numbers before other users; then by width and value, so +1...9 comes before +1...10."""
    match = _DIGITS.fullmatch(number)
    if match is None:
        return (1, 0, number)
    return (0, len(number), number)


def _follows(previous: str, number: str) -> bool:
    a, b = _DIGITS.fullmatch(previous), _DIGITS.fullmatch(number)
    if a is None or b is None or a.group(1) != b.group(1) or len(a.group(2)) != len(b.group(2)):
        return False
    return int(b.group(2)) == int(a.group(2)) + 1


def _is_range(entry: str) -> bool:
    """`first..last` as `collapse` writes it (a SIP user that merely holds `..` is one entry)."""
    first, sep, last = entry.partition(RANGE_SEP)
    a, b = _DIGITS.fullmatch(first), _DIGITS.fullmatch(last)
    return bool(sep) and a is not None and b is not None and a.group(1) == b.group(1) and len(first) == len(last)


def _entries(run: list[str]) -> list[str]:
    if len(run) >= MIN_RUN:
        return [f"{run[0]}{RANGE_SEP}{run[-1]}"]
    return run
