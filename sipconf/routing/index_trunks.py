"""Inbound trunk matching by index: called number -> trunks, then their allowlists.

Equal to the literal `trunks.match_trunk` (upstream `sip/sip.go:MatchTrunkDetailed`): the
trunks that pass both allowlists and list the called number are the specific matches (two
or more: a conflict); without one, the default trunks (no numbers) that pass are counted
(two or more: a conflict, one: the match). Numbers are equal when their normalised forms
are, so the index is keyed by normalised number.
"""

from __future__ import annotations

from itertools import islice
from typing import Sequence

from livekit.protocol import sip

from sipconf.routing.errors import FAILED_PRECONDITION, LiveKitError
from sipconf.sip.gostr import quote
from sipconf.routing.index_addresses import AddressIndex, Source, TrunkFilter
from sipconf.routing.numbers import normalize_number

# Below this many trunks a group is scanned: a handful of compiled checks beat four lookups.
INDEXED_GROUP_SIZE = 8


def normalized(number: str) -> str:
    """`normalize_number(number)`, with the two spellings nearly every call uses read directly.

    `+` and ASCII digits is already normalised; ASCII digits alone only lack the `+`.
    """
    if number.isascii():
        if number.isdigit():
            return "+" + number
        if number[:1] == "+" and number[1:].isdigit():
            return number
    return normalize_number(number)


class _Many:
    """More than one trunk of a group admits the call."""


MANY = _Many()
Admitted = TrunkFilter | _Many | None


class ScannedGroup:
    """A few trunks, checked one by one in id order."""

    __slots__ = ("_filters",)

    def __init__(self, filters: Sequence[TrunkFilter]) -> None:
        self._filters = tuple(filters)

    def admitted(self, caller: str, source: Source | None, host: str) -> Admitted:
        found = None
        for item in self._filters:
            if item.admits(caller, source, host):
                if found is not None:
                    return MANY
                found = item
        return found


class IndexedGroup:
    """Many trunks, split by which allowlists they have so each part is one lookup.

    Every trunk is in exactly one part, so the parts' counts add up; only "none, one (which),
    or more than one" is needed, never the whole list.
    """

    def __init__(self, filters: Sequence[TrunkFilter]) -> None:
        self._open: list[TrunkFilter] = []  # no caller list, no valid mask
        self._by_caller: dict[str, list[TrunkFilter]] = {}  # a caller list only
        self._addressed: list[TrunkFilter] = []  # valid masks only
        self._both: dict[str, list[TrunkFilter]] = {}  # both: by caller, then the masks
        for item in filters:
            if item.callers is None:
                (self._open if item.masks is None else self._addressed).append(item)
                continue
            table = self._by_caller if item.masks is None else self._both
            for caller in item.callers:
                table.setdefault(caller, []).append(item)
        self._addresses = AddressIndex(self._addressed)

    def admitted(self, caller: str, source: Source | None, host: str) -> Admitted:
        found: list[TrunkFilter] = self._open[:2]
        found += self._by_caller.get(caller, ())[:2]
        if len(found) > 1:
            return MANY
        if source is None:  # an unparseable source passes every address check
            found += self._addressed[:2]
        else:
            found += islice(self._addresses.lookup(source, host), 2)
        if len(found) > 1:
            return MANY
        for item in self._both.get(caller, ()):
            if item.admits(caller, source, host):
                found.append(item)
                if len(found) > 1:
                    return MANY
        return found[0] if found else None


def trunk_group(filters: Sequence[TrunkFilter], indexed_size: int) -> ScannedGroup | IndexedGroup:
    return IndexedGroup(filters) if len(filters) >= indexed_size else ScannedGroup(filters)


class TrunkIndex:
    """Inbound trunks by normalised called number, and the default trunks, for one state."""

    def __init__(self, trunks: Sequence[sip.SIPInboundTrunkInfo], indexed_size: int = INDEXED_GROUP_SIZE) -> None:
        # The reference matches over the trunks sorted by id (a stable sort), so the first
        # trunk of an id in that order is also its first in the given order.
        ordered = sorted(trunks, key=lambda t: t.sip_trunk_id)
        self.filters = [TrunkFilter.compile(rank, trunk) for rank, trunk in enumerate(ordered)]
        by_number: dict[str, list[TrunkFilter]] = {}
        defaults: list[TrunkFilter] = []
        self._by_id: dict[str, TrunkFilter] = {}
        for item in self.filters:
            self._by_id.setdefault(item.trunk.sip_trunk_id, item)
            if not item.trunk.numbers:
                defaults.append(item)
                continue
            for number in dict.fromkeys(normalize_number(n) for n in item.trunk.numbers):
                by_number.setdefault(number, []).append(item)
        # A number of one trunk (the usual case) maps to its filter itself: one object less to
        # reach per call, which counts once the index no longer fits in the CPU's caches.
        self._by_number: dict[str, TrunkFilter | ScannedGroup | IndexedGroup] = {
            number: group[0] if len(group) == 1 and indexed_size > 1 else trunk_group(group, indexed_size)
            for number, group in by_number.items()
        }
        self._defaults = trunk_group(defaults, indexed_size)

    def by_id(self, trunk_id: str) -> TrunkFilter | None:
        """The trunk the auth step named (an empty id names none), as `route._hinted` finds it."""
        return self._by_id.get(trunk_id) if trunk_id else None

    def match(
        self, called: str, caller: str, source: Source | None, host: str, to_user: str
    ) -> tuple[TrunkFilter | None, LiveKitError | None]:
        """`called`/`caller` normalised, `source` the parsed source IP (None: unparseable or
        empty), `to_user` the raw called user for the error text."""
        group = self._by_number.get(called)
        if group is not None:
            if type(group) is TrunkFilter:
                specific = group if group.admits(caller, source, host) else None
            else:
                specific = group.admitted(caller, source, host)
            if specific is MANY:
                return None, LiveKitError(FAILED_PRECONDITION, f"Multiple SIP Trunks matched for {quote(to_user)}")
            if specific is not None:
                return specific, None
        default = self._defaults.admitted(caller, source, host)
        if default is MANY:
            return None, LiveKitError(FAILED_PRECONDITION, f"Multiple default SIP Trunks matched for {quote(to_user)}")
        return default, None
