"""Numbers in the spec: the two forms of an entry, their checks, and range expansion.

A phone number is written in E.164: `+` then 1 to 15 digits, no spaces or separators
(`"+15105550100"`), or a range of them (`"+15105550100..+15105550199"`). Anything else a SIP
call can carry in its user part, an extension or a SIP user name, is written explicitly as
`{user: "1001"}` (or a range of extensions, `{user: "1000..1099"}`) and reaches LiveKit exactly
as written. So a phone number has one spelling, and a typo in one (`+1-646-555-0100`, a
21-digit number) is an error instead of a number no call ever matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sipconf.routing.numbers import normalize_number

RANGE_SEP = ".."
MAX_RANGE = 10_000  # a typo in a range end must not expand into millions of numbers
E164_MAX_DIGITS = 15
E164_RULE = "a phone number is E.164: '+' then 1 to 15 digits, no spaces or separators"
PLUS_IS_A_PHONE_NUMBER = "a '+' starts a phone number, written as a plain string in E.164 ('+' then 1 to 15 digits)"
_E164 = re.compile(r"\+[0-9]{1,15}", re.ASCII)
_RANGE_END = re.compile(r"\+?[0-9]+", re.ASCII)
# Characters that cannot stand unescaped in the user part of a SIP URI: a number holding one
# can never be matched by a call.
_NEVER_IN_USER = re.compile(r"[\s@:;<>,?\"\x00-\x1f\x7f]")


@dataclass(frozen=True)
class NumberEntry:
    """One entry of a `numbers`-like list: a phone number (or range), or with `user` set an
    extension or SIP user name (or range of extensions) written as `{user: ...}`."""

    text: str
    user: bool = False

    def expand(self) -> list[str]:
        return expand(self.text)

    def size(self) -> int:
        """How many numbers the entry stands for, without expanding it."""
        ends = parse_range(self.text)
        if ends is None:
            return 1
        return int(ends[1].lstrip("+")) - int(ends[0].lstrip("+")) + 1

    def as_written(self) -> str | dict[str, str]:
        return {"user": self.text} if self.user else self.text


def is_e164(value: str) -> bool:
    return _E164.fullmatch(value) is not None


def check_number(value: str) -> None:
    """Raise ValueError unless `value` is a phone number in E.164."""
    if _E164.fullmatch(value):
        return
    if value == "":
        raise ValueError("a number cannot be empty")
    norm = normalize_number(value)
    if _NEVER_IN_USER.search(norm):
        raise ValueError(f"invalid number '{value}': not a phone number or SIP user")
    if norm.startswith("+") and not norm[1:].isdigit():
        raise ValueError(f"invalid number '{value}': a number starting with '+' must be digits")
    what = f"invalid number '{value}': {E164_RULE}"
    if not value.startswith("+"):
        raise ValueError(f"{what}; write it with '+' and the country code, or an extension or SIP user name as"
                         f" {{user: \"{value}\"}}")
    if len(norm) - 1 > E164_MAX_DIGITS:
        raise ValueError(f"{what}; this one has {len(norm) - 1} digits")
    raise ValueError(f"{what}; write '{norm}'")


def check_user(value: str) -> None:
    """Raise ValueError unless `value` can be the user part of a call: an extension or SIP user
    name that is not a phone number."""
    if value == "":
        raise ValueError("a user cannot be empty")
    if value.startswith("+"):
        # One spelling per phone number: as a user it would be a second one.
        raise ValueError(f"invalid user '{value}': {PLUS_IS_A_PHONE_NUMBER}")
    if _NEVER_IN_USER.search(value):
        raise ValueError(f"invalid user '{value}': not a SIP user name (no spaces, quotes or @ : ; < > , ?)")


def parse_range(value: str) -> tuple[str, str] | None:
    """The two ends of a range entry, or None when `value` is a single number."""
    if RANGE_SEP not in value:
        return None
    start, _, end = value.partition(RANGE_SEP)
    return start, end


def check_range(value: str, start: str, end: str, *, user: bool = False) -> None:
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
    if user and start.startswith("+"):
        raise ValueError(f"{what}: {PLUS_IS_A_PHONE_NUMBER}")
    if not user and not start.startswith("+"):
        raise ValueError(f"{what}: {E164_RULE}; write a range of extensions as {{user: \"{value}\"}}")
    if not user and len(start) - 1 > E164_MAX_DIGITS:
        raise ValueError(f"{what}: {E164_RULE}; these ends have {len(start) - 1} digits")


def check_entry(value: str, *, user: bool = False) -> NumberEntry:
    """One list entry: a number or a range of numbers (phone numbers, or users with `user`)."""
    ends = parse_range(value)
    if ends is not None:
        check_range(value, *ends, user=user)
    elif user:
        check_user(value)
    else:
        check_number(value)
    return NumberEntry(value, user)


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


def expand_entries(entries: list[NumberEntry]) -> list[str]:
    """Every number of the entries, as LiveKit stores them: an E.164 number is already in the
    form LiveKit's NormalizeNumber gives, and a user is kept exactly as written (dispatch rules
    compare numbers raw; trunks raw or normalised, so a user needs no rewriting either)."""
    return [n for entry in entries for n in entry.expand()]
