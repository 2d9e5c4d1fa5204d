"""Number comparison as trunk matching and conflict validation do it, fast for E.164."""

from __future__ import annotations

from sipconf.routing.numbers import normalize_number


def normalised(number: str) -> str:
    """`normalize_number`, skipping the work for a number already in E.164 form (`+` and
    ASCII digits), which it returns unchanged: nearly every number of a spec."""
    if number[:1] == "+" and number[1:].isdigit() and number.isascii():
        return number
    return normalize_number(number)
