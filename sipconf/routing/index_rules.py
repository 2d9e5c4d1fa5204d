"""Dispatch-rule selection by index: per trunk id, its candidates' validation computed once;
rules by the exact called number they list; candidate lists best first.

Equal to the literal `route._rule_candidates` + `rules.select_dispatch_rule` (upstream
`sip/sip.go:MatchDispatchRuleIter`): the candidates of trunk T are the rules naming no
trunk plus the rules naming T (all rules without a trunk), sorted by id; any conflict or
invalid rule among them is the answer; else the best rule naming T that takes the call,
else the best rule naming none. Rule numbers compare as exact strings.

The best rule of a kind that takes a call is the first taking it in one list sorted best
first: the rules listing the called number merged with those listing none. Such lists are
built once per distinct set of rules (`index_called`), so numbers with the same rules share
one tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from livekit.protocol import sip

from sipconf.routing.errors import LiveKitError
from sipconf.routing.index_shared import Shared
from sipconf.routing.index_evaluate import RuleConfig
from sipconf.routing.rules import pin_and_room, rule_priority, validate_rules


@dataclass(frozen=True, eq=False, slots=True)
class RuleEntry:
    """A valid rule with what selection compares and evaluation reads."""

    callers: frozenset[str] | None  # inbound_numbers; None takes every caller
    pin: str
    rule: sip.SIPDispatchRuleInfo
    rule_id: str
    room: str  # the direct room name, or the individual/callee prefix
    config: RuleConfig  # the rest evaluation reads, kept once per distinct value
    order: int  # lower wins: its place among all rules by `selection_order`

    def takes(self, caller: str, pin: str, no_pin: bool) -> bool:
        """`rules._skip_reason` without the called number (the list's key already checked it)."""
        if self.callers is not None and caller not in self.callers:
            return False
        if no_pin and self.pin:
            return False
        # A PIN sent opens only a rule with that PIN (so never an open rule).
        return not pin or self.pin == pin


def first_taking(entries: Sequence[RuleEntry], caller: str, pin: str, no_pin: bool) -> RuleEntry | None:
    """The first rule of `entries` (best first) that takes the call."""
    for entry in entries:
        if entry.takes(caller, pin, no_pin):
            return entry
    return None


def _order(entry: RuleEntry) -> int:
    return entry.order


def selection_order(rank: int, rule: sip.SIPDispatchRuleInfo) -> tuple[int, str, int]:
    """How selection ranks valid rules (lower wins): priority, then the room name or prefix,
    then the earlier rule by id (`rank`)."""
    return rule_priority(rule), pin_and_room(rule)[1], rank


def best_first(entries: Iterable[RuleEntry], shared: Shared) -> tuple[RuleEntry, ...]:
    """`entries` sorted best first, one tuple per distinct list."""
    return shared(tuple(sorted(entries, key=_order)))


@dataclass(frozen=True, slots=True)
class TrunkRules:
    """The candidates of one trunk id (or of no trunk): their validation, and the rules
    among them naming the trunk without listing numbers, best first."""

    error: LiveKitError | None  # a conflict or invalid rule among the candidates: it is the answer
    any_number: tuple[RuleEntry, ...]


class RuleIndex:
    """Dispatch rules by trunk id and by listed number, validated once, for one state."""

    def __init__(self, rules: Sequence[sip.SIPDispatchRuleInfo], shared: Shared) -> None:
        self.ordered = ordered = sorted(rules, key=lambda r: r.sip_dispatch_rule_id)
        valid = [rank for rank, rule in enumerate(ordered) if _valid(rule)]
        # Each valid rule's place in selection order, one small number to compare.
        place = {rank: n for n, rank in enumerate(sorted(valid, key=lambda r: selection_order(r, ordered[r])))}
        configs: dict[tuple, RuleConfig] = {}
        entries: list[RuleEntry | None] = [None] * len(ordered)
        for rank in valid:
            entries[rank] = _entry(ordered[rank], place[rank], shared, configs)
        defaults = [rank for rank, rule in enumerate(ordered) if not rule.trunk_ids]
        naming: dict[str, list[int]] = {}
        for rank, rule in enumerate(ordered):
            for trunk_id in dict.fromkeys(rule.trunk_ids):
                naming.setdefault(trunk_id, []).append(rank)
        self._naming = {trunk_id: tuple(ranks) for trunk_id, ranks in naming.items()}  # for traced decisions
        self._defaults = tuple(defaults)
        self._default_failure = _first_failure(ordered, defaults)
        # Rules naming no trunk and listing no number: the end of every default list.
        self.default_any = best_first((entries[r] for r in defaults if _catch_all(entries[r])), shared)
        # No trunk (open-source mode only): every rule is a candidate, none is specific.
        self.no_trunk = TrunkRules(validate_rules(ordered), ())
        self._by_trunk: dict[str, TrunkRules] = {}
        for trunk_id, ranks in naming.items():
            any_number = best_first((entries[r] for r in ranks if _catch_all(entries[r])), shared)
            self._by_trunk[trunk_id] = TrunkRules(self._error_with_defaults(list(ranks), defaults), any_number)
        self._only_defaults = TrunkRules(self._default_failure[1] if self._default_failure else None, ())
        self._entries = entries

    def for_trunk(self, trunk_id: str) -> TrunkRules:
        """The candidates of a matched trunk with this id."""
        return self._by_trunk.get(trunk_id, self._only_defaults)

    def listing(self) -> dict[str, list[RuleEntry]]:
        """Exact called number -> the valid rules listing it (for building the called-number
        table: not kept)."""
        out: dict[str, list[RuleEntry]] = {}
        for entry in self._entries:
            if entry is not None:
                for number in dict.fromkeys(entry.rule.numbers):
                    out.setdefault(number, []).append(entry)
        return out

    def for_other_trunk(self, trunk_id: str, called: str) -> tuple[LiveKitError | None, tuple[RuleEntry, ...]]:
        """The candidates' validation and the rules naming `trunk_id` that may take a call to
        `called`, best first, for a trunk id no table was built for (no trunk has it): the
        rules are read one by one."""
        rules = self.for_trunk(trunk_id)
        listed = [e for e in self._entries if e is not None and trunk_id in e.rule.trunk_ids and called in e.rule.numbers]
        return rules.error, tuple(sorted([*listed, *rules.any_number], key=_order))

    def candidates(self, trunk_id: str | None) -> list[sip.SIPDispatchRuleInfo]:
        """`route._rule_candidates`: the rules of a matched trunk's id (None: no trunk), by id."""
        if trunk_id is None:
            return list(self.ordered)
        return [self.ordered[r] for r in sorted({*self._naming.get(trunk_id, ()), *self._defaults})]

    def _error_with_defaults(self, ranks: list[int], defaults: list[int]) -> LiveKitError | None:
        """`validate_rules` over the defaults and the rules naming one trunk, in id order.

        Rules naming no trunk own keys with trunk id "", so they can only collide with a rule
        naming the trunk id "". Otherwise each side's conflicts are its own, and the first error
        of the whole list is whichever side's first failing rule comes first by id.
        """
        if any("" in self.ordered[r].trunk_ids for r in ranks):
            return validate_rules([self.ordered[r] for r in sorted(ranks + defaults)])
        own = _first_failure(self.ordered, ranks)
        theirs = self._default_failure
        if own is None or (theirs is not None and theirs[0] < own[0]):
            return theirs[1] if theirs is not None else None
        return own[1]


def _catch_all(entry: RuleEntry | None) -> bool:
    return entry is not None and not entry.rule.numbers


def _valid(rule: sip.SIPDispatchRuleInfo) -> bool:
    """An invalid rule has no entry: any candidate list holding one fails validation first."""
    try:
        pin_and_room(rule)
    except LiveKitError:
        return False
    return True


def _entry(rule: sip.SIPDispatchRuleInfo, order: int, shared: Shared, configs: dict[tuple, RuleConfig]) -> RuleEntry:
    callers = shared(frozenset(rule.inbound_numbers)) if rule.inbound_numbers else None
    config = RuleConfig.of(rule, shared, configs)
    return RuleEntry(callers, config.pin, rule, rule.sip_dispatch_rule_id, shared(pin_and_room(rule)[1]), config, order)


def _first_failure(ordered: list[sip.SIPDispatchRuleInfo], ranks: list[int]) -> tuple[int, LiveKitError] | None:
    """The rank of the rule where `validate_rules` over `ranks` (in order) stops, and its error.

    Validation stops at its first failing rule, so a prefix of the list fails exactly when
    it holds that rule: a binary search over prefixes finds it with the validator itself.
    """
    rules = [ordered[r] for r in ranks]
    error = validate_rules(rules)
    if error is None:
        return None
    low, high = 1, len(rules)  # the shortest failing prefix has between 1 and len items
    while low < high:
        middle = (low + high) // 2
        if validate_rules(rules[:middle]) is None:
            low = middle + 1
        else:
            high = middle
    return ranks[low - 1], error
