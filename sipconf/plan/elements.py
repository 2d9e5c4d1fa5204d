"""Element diffs of list and map fields: what was added, removed, changed or reordered.

A plan that shows a changed `numbers` as 21 numbers -> 22 numbers hides the one number that
matters; Terraform and octoDNS users expect `+"+15105550151"`. The diff stays a diff of whole
fields (an update replaces the object); these deltas are derived from a field's before and
after, so a saved plan needs nothing new to carry them.

Lists are compared as multisets of JSON values (duplicates count), keeping each side's order;
`reordered` says the elements both sides keep appear in a different order. Maps are compared
per key. An absent side (`None`, an unset field) is the empty list or map.

A list of numbers (`numbers`, `allowed_numbers`, `inbound_numbers`) has a `NumberDelta`:
the added and removed numbers as sorted ranges with their counts, so adding twenty numbers to
a 10,000-number trunk reads `+15105550120..+15105550139 (20)`, whatever the list's size.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sipconf.plan.ranges import collapse_sorted, count


@dataclass(frozen=True)
class ListDelta:
    added: tuple[Any, ...]  # in the order of `after`
    removed: tuple[Any, ...]  # in the order of `before`
    kept_before: tuple[Any, ...]  # the elements both sides keep, in `before` order
    kept_after: tuple[Any, ...]  # the same elements, in `after` order

    @property
    def reordered(self) -> bool:
        return self.kept_before != self.kept_after

    def to_json(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed), "reordered": self.reordered}


@dataclass(frozen=True)
class MapDelta:
    added: dict[str, Any]
    removed: dict[str, Any]
    changed: dict[str, tuple[Any, Any]]  # key -> (before, after)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": dict(self.added),
            "removed": dict(self.removed),
            "changed": {k: {"before": b, "after": a} for k, (b, a) in self.changed.items()},
        }


@dataclass(frozen=True)
class NumberDelta:
    added: tuple[str, ...]  # sorted, consecutive numbers as `first..last`
    removed: tuple[str, ...]
    reordered: bool  # the numbers both sides keep appear in a different order

    @property
    def added_count(self) -> int:
        return count(self.added)

    @property
    def removed_count(self) -> int:
        return count(self.removed)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "added_count": self.added_count,
            "removed_count": self.removed_count,
            "reordered": self.reordered,
        }


def number_delta(before: Sequence[str] | None, after: Sequence[str] | None) -> NumberDelta:
    elements = list_delta(before or [], after or [])
    return NumberDelta(tuple(collapse_sorted(elements.added)), tuple(collapse_sorted(elements.removed)), elements.reordered)


def delta(before: Any, after: Any) -> ListDelta | MapDelta | None:
    """The element delta of a list or map field; None for any other value.

    A dict is a map only when one side has keys: an empty dict is how an empty sub-message
    (a oneof arm with no fields set) is shown, and it has no elements to compare.
    """
    sides = [v for v in (before, after) if v is not None]
    if sides and all(isinstance(v, list) for v in sides):
        return list_delta(before or [], after or [])
    if sides and all(isinstance(v, dict) for v in sides) and any(sides):
        return map_delta(before or {}, after or {})
    return None


def list_delta(before: Sequence[Any], after: Sequence[Any]) -> ListDelta:
    old, new = [_key(v) for v in before], [_key(v) for v in after]
    kept_before, removed = _split(before, old, Counter(new))
    kept_after, added = _split(after, new, Counter(old))
    return ListDelta(tuple(added), tuple(removed), tuple(kept_before), tuple(kept_after))


def map_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> MapDelta:
    return MapDelta(
        added={k: after[k] for k in sorted(after) if k not in before},
        removed={k: before[k] for k in sorted(before) if k not in after},
        changed={k: (before[k], after[k]) for k in sorted(before) if k in after and before[k] != after[k]},
    )


def _split(values: Sequence[Any], keys: list[str], other: Counter[str]) -> tuple[list[Any], list[Any]]:
    """(values the other side also has, values it lacks), each occurrence matched once."""
    kept, lacking = [], []
    for value, key in zip(values, keys):
        if other[key] > 0:
            other[key] -= 1
            kept.append(value)
        else:
            lacking.append(value)
    return kept, lacking


def _key(value: Any) -> str:
    # Strings (numbers, addresses) are most elements: keyed as they are, apart from JSON text.
    return "s:" + value if isinstance(value, str) else json.dumps(value, sort_keys=True)
