"""Dispatch-rule selection by index: per trunk, its candidates' validation computed once
and (called number) -> candidate rules, best first.

Equal to the literal `route._rule_candidates` + `rules.select_dispatch_rule` (upstream
`sip/sip.go:MatchDispatchRuleIter`): the candidates of trunk T are the rules naming no
trunk plus the rules naming T (all rules without a trunk), sorted by id; any conflict or
invalid rule among them is the answer; else the best rule naming T that takes the call,
else the best rule naming none. Rule numbers compare as exact strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from livekit.protocol import sip

from sipconf.routing.errors import LiveKitError
from sipconf.routing.rules import pin_and_room, rule_priority, validate_rules


@dataclass(frozen=True, eq=False, slots=True)
class RuleEntry:
    """A valid rule with what selection compares; `rank` is its position by id."""

    order: tuple[int, str, int]  # lower wins: priority, then room name/prefix, then the earlier rule
    rank: int
    rule: sip.SIPDispatchRuleInfo
    pin: str
    callers: frozenset[str] | None  # inbound_numbers; None takes every caller

    def takes(self, caller: str, pin: str, no_pin: bool) -> bool:
        """`rules._skip_reason` without the called number (the table's key already checked it)."""
        if self.callers is not None and caller not in self.callers:
            return False
        if no_pin and self.pin:
            return False
        # A PIN sent opens only a rule with that PIN (so never an open rule).
        return not pin or self.pin == pin


class RuleTable:
    """Rules of one kind (naming the trunk, or naming none) by called number, best first."""

    def __init__(self, entries: Sequence[RuleEntry]) -> None:
        self._by_number: dict[str, list[RuleEntry]] = {}
        self._any_number: list[RuleEntry] = []
        for entry in entries:
            if not entry.rule.numbers:
                self._any_number.append(entry)
                continue
            for number in dict.fromkeys(entry.rule.numbers):
                self._by_number.setdefault(number, []).append(entry)
        for listed in (*self._by_number.values(), self._any_number):
            listed.sort(key=_order)

    def best(self, called: str, caller: str, pin: str, no_pin: bool) -> RuleEntry | None:
        listed = _first_taking(self._by_number.get(called, ()), caller, pin, no_pin)
        unlisted = _first_taking(self._any_number, caller, pin, no_pin)
        if listed is None or (unlisted is not None and unlisted.order < listed.order):
            return unlisted
        return listed


def _first_taking(entries: Sequence[RuleEntry], caller: str, pin: str, no_pin: bool) -> RuleEntry | None:
    for entry in entries:
        if entry.takes(caller, pin, no_pin):
            return entry
    return None


def _order(entry: RuleEntry) -> tuple[int, str, int]:
    return entry.order


@dataclass(frozen=True, slots=True)
class Candidates:
    """What selection sees for one trunk: the validation of its candidates, then the tables."""

    error: LiveKitError | None  # a conflict or invalid rule among the candidates: it is the answer
    specific: RuleTable | None  # rules naming the trunk (None: no trunk, or none names it)
    default: RuleTable  # rules naming no trunk

    def best(self, called: str, caller: str, pin: str, no_pin: bool) -> RuleEntry | None:
        """The best rule naming the trunk that takes the call, else the best naming none;
        only for candidates without `error`."""
        found = self.specific.best(called, caller, pin, no_pin) if self.specific is not None else None
        return found if found is not None else self.default.best(called, caller, pin, no_pin)


class RuleIndex:
    """Dispatch rules by trunk id, validated once, for one state."""

    def __init__(self, rules: Sequence[sip.SIPDispatchRuleInfo]) -> None:
        ordered = sorted(rules, key=lambda r: r.sip_dispatch_rule_id)
        self.entries = entries = [_entry(rank, rule) for rank, rule in enumerate(ordered)]
        defaults = [rank for rank, rule in enumerate(ordered) if not rule.trunk_ids]
        naming: dict[str, list[int]] = {}
        for rank, rule in enumerate(ordered):
            for trunk_id in dict.fromkeys(rule.trunk_ids):
                naming.setdefault(trunk_id, []).append(rank)
        self._ordered = ordered
        self._default_table = RuleTable([entries[r] for r in defaults if entries[r] is not None])
        self._default_failure = _first_failure(ordered, defaults)
        # No trunk (open-source mode only): every rule is a candidate, none is specific.
        self._no_trunk = Candidates(validate_rules(ordered), None, self._default_table)
        self._by_trunk: dict[str, Candidates] = {}
        for trunk_id, ranks in naming.items():
            error = self._error_with_defaults(ranks, defaults)
            table = RuleTable([entries[r] for r in ranks]) if error is None else None
            self._by_trunk[trunk_id] = Candidates(error, table, self._default_table)
        self._only_defaults = Candidates(
            self._default_failure[1] if self._default_failure else None, None, self._default_table
        )

    def candidates(self, trunk_id: str | None) -> Candidates:
        """For the matched trunk's id, or None when no trunk matched."""
        if trunk_id is None:
            return self._no_trunk
        return self._by_trunk.get(trunk_id, self._only_defaults)

    def _error_with_defaults(self, ranks: list[int], defaults: list[int]) -> LiveKitError | None:
        """`validate_rules` over the defaults and the rules naming one trunk, in id order.

        Rules naming no trunk own keys with trunk id "", so they can only collide with a rule
        naming the trunk id "". Otherwise each side's conflicts are its own, and the first error
        of the whole list is whichever side's first failing rule comes first by id.
        """
        if any("" in self._ordered[r].trunk_ids for r in ranks):
            return validate_rules([self._ordered[r] for r in sorted(ranks + defaults)])
        own = _first_failure(self._ordered, ranks)
        theirs = self._default_failure
        if own is None or (theirs is not None and theirs[0] < own[0]):
            return theirs[1] if theirs is not None else None
        return own[1]


def _entry(rank: int, rule: sip.SIPDispatchRuleInfo) -> RuleEntry | None:
    """None for an invalid rule: any candidate list holding one fails validation first."""
    try:
        pin, room = pin_and_room(rule)
    except LiveKitError:
        return None
    callers = frozenset(rule.inbound_numbers) if rule.inbound_numbers else None
    return RuleEntry((rule_priority(rule), room, rank), rank, rule, pin, callers)


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
