"""Equal values kept once while a routing index is built."""

from __future__ import annotations


class Shared:
    """Equal immutable values (strings, frozensets, tuples) kept once while an index is built:
    the index then holds one object per distinct value, however many trunks, rules or
    numbers carry it. An index of 100,000 numbers is mostly repeats."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict = {}

    def __call__(self, value):
        return self._seen.setdefault(value, value)
