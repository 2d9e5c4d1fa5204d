"""Phone numbers in the spec: entry checks and range expansion (`+15105550100..+15105550199`).

Trunk numbers are then normalised with LiveKit's own rule (sipconf.routing.numbers,
docs/livekit.md#numbers); dispatch-rule numbers are compared raw by LiveKit, so they stay as
written.
"""

from __future__ import annotations

import re

from sipconf.routing.numbers import normalize_number

RANGE_SEP = ".."
MAX_RANGE = 10_000  # a typo in a range end must not expand into millions of numbers
_RANGE_END = re.compile(r"\+?[0-9]+", re.ASCII)
# Characters that cannot stand unescaped in the user part of a SIP URI: a number holding one
# can never be matched by a call.
_NEVER_IN_USER = re.compile(r"[\s@:;<>,?\"\x00-\x1f\x7f]")


def check_number(value: str) -> None:
    """Raise ValueError when `value` can never be a called/calling number or SIP user."""
    if value == "":
        raise ValueError("a number cannot be empty")
    norm = normalize_number(value)
    if _NEVER_IN_USER.search(norm):
        raise ValueError(f"invalid number '{value}': not a phone number or SIP user")
    if norm.startswith("+") and not norm[1:].isdigit():
        raise ValueError(f"invalid number '{value}': a number starting with '+' must be digits")


def parse_range(value: str) -> tuple[str, str] | None:
    """The two ends of a range entry, or None when `value` is a single number."""
    if RANGE_SEP not in value:
        return None
    start, _, end = value.partition(RANGE_SEP)
    return start, end


def check_range(value: str, start: str, end: str) -> None:
    what = f"invalid number range '{value}'"
    if not (_RANGE_END.fullmatch(start) and _RANGE_END.fullmatch(end)):
        raise ValueError(f"{what}: each end must be digits with an optional leading '+'")
    if start.startswith("+") != end.startswith("+"):
        raise ValueError(f"{what}: both ends must start with '+' or neither")
    if len(start) != len(end):
        raise ValueError(f"{what}: both ends must have the same length")
    size = int(end.lstrip("+")) - int(start.lstrip("+")) + 1
    if size < 1:
        raise ValueError(f"{what}: the start is after the end")
    if size > MAX_RANGE:
        raise ValueError(f"{what}: {size} numbers, more than the limit of {MAX_RANGE}")


def check_number_entry(value: str) -> str:
    """Pydantic validator for one list entry: a number or a range of numbers."""
    ends = parse_range(value)
    if ends is None:
        check_number(value)
    else:
        check_range(value, *ends)
    return value


def expand(value: str) -> list[str]:
    """The numbers of one (already checked) entry: a range becomes every number in it."""
    ends = parse_range(value)
    if ends is None:
        return [value]
    start, end = ends
    plus = "+" if start.startswith("+") else ""
    width = len(start.lstrip("+"))
    lo, hi = int(start.lstrip("+")), int(end.lstrip("+"))
    return [f"{plus}{n:0{width}d}" for n in range(lo, hi + 1)]


def expand_trunk_numbers(entries: list[str]) -> list[str]:
    """Trunk numbers: expanded, then LiveKit-normalised (docs/livekit.md#numbers)."""
    return [normalize_number(n) for entry in entries for n in expand(entry)]


def expand_rule_numbers(entries: list[str]) -> list[str]:
    """Dispatch-rule numbers: expanded, kept raw (LiveKit compares them exactly,
    docs/livekit.md#numbers)."""
    return [n for entry in entries for n in expand(entry)]
