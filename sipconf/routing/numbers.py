"""LiveKit's phone-number normalisation (docs/livekit.md#numbers)."""

from __future__ import annotations

import re

# "If s does not fully match ^\+?[0-9\- ()]+$ ... return s unchanged" (docs/livekit.md#numbers).
# re.ASCII keeps `[0-9]`-like classes ASCII-only, as Go's regexp is.
_NUMERIC = re.compile(r"\+?[0-9\- ()]+", re.ASCII)
_STRIP = str.maketrans("", "", " -()")


def normalize_number(s: str) -> str:
    """`NormalizeNumber`: strip ` -()` and prefix `+` when `s` looks like a phone number.

    Anything else (`user`, `1.555`, `+`, `1+2`) is returned unchanged, so SIP users that
    are not numbers compare exactly and case-sensitively.
    """
    if s == "" or _NUMERIC.fullmatch(s) is None:
        return s
    digits = s.translate(_STRIP)
    return digits if digits.startswith("+") else "+" + digits


def same_number(a: str, b: str) -> bool:
    """Trunk-matching equality: raw strings equal, or normalised forms equal
    (docs/livekit.md#numbers)."""
    return a == b or normalize_number(a) == normalize_number(b)
