"""Inbound trunk matching by index: called number -> trunks, then their allowlists.

Equal to the literal `trunks.match_trunk` (upstream `sip/sip.go:MatchTrunkDetailed`): the
trunks that pass both allowlists and list the called number are the specific matches (two
or more: a conflict); without one, the default trunks (no numbers) that pass are counted
(two or more: a conflict, one: the match). Numbers are equal when their normalised forms
are, so trunks are grouped by normalised number.
"""

from __future__ import annotations

from itertools import islice
from typing import Sequence

from livekit.protocol import sip

from sipconf.routing.errors import FAILED_PRECONDITION, LiveKitError
from sipconf.routing.index_addresses import AddressIndex, Source, TrunkFilter
from sipconf.routing.index_shared import Shared
from sipconf.routing.index_evaluate import TrunkConfig
from sipconf.routing.index_rules import RuleEntry, TrunkRules
from sipconf.routing.numbers import normalize_number
from sipconf.sip.gostr import quote

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


class IndexedTrunk(TrunkFilter):
    """Everything routing reads about one inbound trunk, in one object: its allowlists
    (`TrunkFilter`), its id, whether it needs digest auth, its dispatch-rule candidates'
    validation and catch-all rules, and its evaluation settings (kept once per distinct
    value: most trunks share them)."""

    __slots__ = ("needs_auth", "trunk_id", "dispatched", "owner", "rule_error", "config", "any_rules")

    def __init__(
        self, position: int, trunk: sip.SIPInboundTrunkInfo, shared: Shared, config: TrunkConfig, rules: TrunkRules
    ) -> None:
        super().__init__(position, trunk, shared)
        # The first trunk with this id: rules name trunk ids, so trunks sharing an id share
        # their rules (set by `link`).
        self.owner: IndexedTrunk = self
        self.rule_error: LiveKitError | None = rules.error  # a conflict or invalid rule among the candidates
        self.any_rules: tuple[RuleEntry, ...] = rules.any_number  # rules naming the trunk without numbers, best first
        self.needs_auth = bool(trunk.auth_username and trunk.auth_password)  # digest auth
        self.dispatched: IndexedTrunk = self  # the trunk dispatch takes for this id (set by `link`)
        self.trunk_id: str = shared(trunk.sip_trunk_id)
        self.config = config


class _Many:
    """More than one trunk of a group admits the call."""


MANY = _Many()
Admitted = IndexedTrunk | _Many | None


class ScannedGroup:
    """A few trunks, checked one by one in id order."""

    __slots__ = ("_filters",)

    def __init__(self, filters: Sequence[IndexedTrunk]) -> None:
        self._filters = tuple(filters)

    @property
    def members(self) -> tuple[IndexedTrunk, ...]:
        return self._filters

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

    def __init__(self, filters: Sequence[IndexedTrunk]) -> None:
        self.members = tuple(filters)
        self._open: list[IndexedTrunk] = []  # no caller list, no valid mask
        self._by_caller: dict[str, list[IndexedTrunk]] = {}  # a caller list only
        self._addressed: list[IndexedTrunk] = []  # valid masks only
        self._both: dict[str, list[IndexedTrunk]] = {}  # both: by caller, then the masks
        for item in filters:
            if item.callers is None:
                (self._open if item.open_source else self._addressed).append(item)
                continue
            table = self._by_caller if item.open_source else self._both
            for caller in item.callers:
                table.setdefault(caller, []).append(item)
        self._addresses = AddressIndex(self._addressed)

    def admitted(self, caller: str, source: Source | None, host: str) -> Admitted:
        found: list[IndexedTrunk] = self._open[:2]
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


TrunkGroup = IndexedTrunk | ScannedGroup | IndexedGroup


def trunk_group(filters: Sequence[IndexedTrunk], indexed_size: int) -> TrunkGroup:
    """The trunks listing one number: a number of one trunk (the usual case) is the trunk
    itself, one object less to reach per call."""
    if len(filters) == 1 and indexed_size > 1:
        return filters[0]
    return IndexedGroup(filters) if len(filters) >= indexed_size else ScannedGroup(filters)


def groups_by_number(trunks: Sequence[IndexedTrunk], indexed_size: int) -> dict[str, TrunkGroup]:
    """Normalised called number -> the trunks listing it (in id order); numbers listed by the
    same trunks share one group."""
    by_number: dict[str, list[IndexedTrunk]] = {}
    for item in trunks:
        for number in dict.fromkeys(normalize_number(n) for n in item.trunk.numbers):
            by_number.setdefault(number, []).append(item)
    groups: dict[tuple[int, ...], TrunkGroup] = {}
    out: dict[str, TrunkGroup] = {}
    for number, listing in by_number.items():
        key = tuple(item.position for item in listing)
        group = groups.get(key)
        if group is None:
            group = groups[key] = trunk_group(listing, indexed_size)
        out[number] = group
    return out


class TrunkIndex:
    """Inbound trunks (in id order) by id, and the default trunks; matching, given the trunks
    listing the called number (`groups_by_number`, kept in the called-number table)."""

    def __init__(self, trunks: Sequence[IndexedTrunk], indexed_size: int = INDEXED_GROUP_SIZE) -> None:
        self._by_id: dict[str, IndexedTrunk] = {}
        for item in trunks:
            self._by_id.setdefault(item.trunk_id, item)
        defaults = [item for item in trunks if not item.trunk.numbers]
        self._defaults = IndexedGroup(defaults) if len(defaults) >= indexed_size else ScannedGroup(defaults)
        self._no_defaults = not defaults

    def by_id(self, trunk_id: str) -> IndexedTrunk | None:
        """The trunk the auth step named (an empty id names none), as `route._hinted` finds it."""
        return self._by_id.get(trunk_id) if trunk_id else None

    def first_with_id(self, trunk_id: str) -> IndexedTrunk | None:
        """The first trunk (in id order) with this id, the empty id included."""
        return self._by_id.get(trunk_id)

    def match(
        self, group: TrunkGroup | None, caller: str, source: Source | None, host: str, to_user: str
    ) -> tuple[IndexedTrunk | None, LiveKitError | None]:
        """`group` lists the called number (None: no trunk does), `caller` is the From user,
        `source` the parsed source IP (None: unparseable or empty), `to_user` the raw called
        user for the error text."""
        if group is not None:
            if type(group) is IndexedTrunk:  # the usual case: its caller list is read only if it has one
                callers = group.callers
                if (callers is None or normalized(caller) in callers) and group.admits_source(source, host):
                    return group, None
            else:
                specific = group.admitted(normalized(caller), source, host)
                if specific is MANY:
                    return None, LiveKitError(FAILED_PRECONDITION, f"Multiple SIP Trunks matched for {quote(to_user)}")
                if specific is not None:
                    return specific, None
        if self._no_defaults:
            return None, None
        default = self._defaults.admitted(normalized(caller), source, host)
        if default is MANY:
            return None, LiveKitError(FAILED_PRECONDITION, f"Multiple default SIP Trunks matched for {quote(to_user)}")
        return default, None

def members(group: TrunkGroup | None) -> tuple[IndexedTrunk, ...]:
    """The trunks of a group, in id order."""
    if group is None:
        return ()
    return (group,) if type(group) is IndexedTrunk else group.members
