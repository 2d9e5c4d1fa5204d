"""Called number -> everything routing reads about it, in one lookup.

The table's keys are the normalised numbers trunks list and the exact numbers dispatch
rules list (trunks compare numbers normalised, rules exactly). Each key maps to a
`CalledRoute`: the trunks listing the number, and for its exact spelling the candidate
rules of a trunk, best first (those naming the trunk and listing the number merged with
those naming it and listing none), and the same for rules naming no trunk.

Numbers with the same trunks and rules share one `CalledRoute`, and equal rule lists are one
tuple: 100,000 numbers on 10,000 trunks make some 20,000 small objects, not a dict and lists
per number, so the table stays compact and each call reaches few objects.
"""

from __future__ import annotations

from typing import Callable

from sipconf.routing.index_rules import RuleEntry, RuleIndex, best_first
from sipconf.routing.index_shared import Shared
from sipconf.routing.index_trunks import IndexedTrunk, TrunkGroup, members
from sipconf.routing.numbers import normalize_number


class CalledRoute:
    """The trunks listing a called number (None: none does) and the rules for its exact
    spelling. Set once when built, then only read."""

    __slots__ = ("trunks", "owner", "specific", "others", "defaults", "unlisted")

    def __init__(
        self,
        trunks: TrunkGroup | None,
        owner: IndexedTrunk | None,
        specific: tuple[RuleEntry, ...],
        others: dict[IndexedTrunk, tuple[RuleEntry, ...]] | None,
        defaults: tuple[RuleEntry, ...],
        unlisted: CalledRoute | None = None,
    ) -> None:
        self.trunks = trunks
        # The trunk id (its first trunk, `IndexedTrunk.owner`) whose rules list the number:
        # `specific` are its candidates. Rules of other trunk ids listing it (rare) are in
        # `others`; trunks whose rules do not list it take their catch-all rules.
        self.owner = owner
        self.specific = specific
        self.others = others
        self.defaults = defaults  # rules naming no trunk: listing the number, then listing none
        # The same trunks for a spelling no rule lists (the number as trunks compare it).
        self.unlisted = self if unlisted is None else unlisted

    def specific_for(self, trunk: IndexedTrunk) -> tuple[RuleEntry, ...]:
        """The rules naming the trunk's id that may take a call to this number, best first."""
        owner = trunk.owner
        if owner is self.owner:
            return self.specific
        if self.others is not None:
            return self.others.get(owner, owner.any_rules)
        return owner.any_rules


def called_table(
    groups: dict[str, TrunkGroup],
    rules: RuleIndex,
    owner_of: Callable[[str], IndexedTrunk | None],
    shared: Shared,
) -> dict[str, CalledRoute]:
    """The table: `groups` are the trunks by normalised number, `owner_of` the first trunk
    of an id (None: no trunk has it, so no call reaches its rules)."""
    routes: dict[tuple, CalledRoute] = {}

    def route(
        trunks: TrunkGroup | None,
        owner: IndexedTrunk | None,
        specific: tuple[RuleEntry, ...],
        others: dict[IndexedTrunk, tuple[RuleEntry, ...]] | None,
        defaults: tuple[RuleEntry, ...],
    ) -> CalledRoute:
        unlisted = None if owner is None and others is None and defaults is rules.default_any else bare(trunks)
        listed_elsewhere = tuple((id(o), id(t)) for o, t in others.items()) if others else None
        key = (id(trunks), id(owner), id(specific), listed_elsewhere, id(defaults))
        found = routes.get(key)
        if found is None:
            found = routes[key] = CalledRoute(trunks, owner, specific, others, defaults, unlisted)
        return found

    bares: dict[int, CalledRoute] = {}

    def bare(trunks: TrunkGroup | None) -> CalledRoute:
        """The record of a number no rule lists (one per group of trunks)."""
        found = bares.get(id(trunks))
        if found is None:
            found = bares[id(trunks)] = route(trunks, None, (), None, rules.default_any)
        return found

    table = {number: bare(group) for number, group in groups.items()}
    for number, entries in rules.listing().items():
        group = groups.get(normalize_number(number))
        by_owner: dict[IndexedTrunk, list[RuleEntry]] = {}
        default_listing: list[RuleEntry] = []
        for entry in entries:
            if not entry.rule.trunk_ids:
                default_listing.append(entry)
            for trunk_id in dict.fromkeys(entry.rule.trunk_ids):
                owner = owner_of(trunk_id)
                if owner is not None:
                    by_owner.setdefault(owner, []).append(entry)
        lists = {owner: best_first([*listed, *owner.any_rules], shared) for owner, listed in by_owner.items()}
        # The owner is preferably a trunk listing the number itself: the trunk its calls match.
        first = next((m.owner for m in members(group) if m.owner in lists), next(iter(lists), None))
        specific = lists.pop(first) if first is not None else ()
        defaults = best_first([*default_listing, *rules.default_any], shared) if default_listing else rules.default_any
        table[number] = route(group, first, specific, lists or None, defaults)
    return table
