"""Route impact: the called numbers whose inbound outcome changes, before -> after, in rows.

Computed with the routing engine (`sipconf.routing.trunks.match_trunk`,
`sipconf.routing.rules.select_dispatch_rule`) on the live objects and on the desired ones, in
name space, so outcomes name spec objects. The numbers are every called number a trunk or a
rule lists on either side; only those an object that changed could reach are evaluated (a
changed trunk reaches its numbers, a changed rule its numbers or its trunks' numbers; one
that lists none reaches every number), since the others route alike on both sides.

Who calls matters (allowlists), so each number is called by representative calls
(sipconf.plan.callers): one per `allowed_addresses` entry of a trunk that could take it, plus
"any other source", crossed with one per class of callers that every filter treats alike (the
`allowed_numbers` of those trunks and the `inbound_numbers` of the rules that could take it
through them), plus "any other caller". A rule of another trunk names no caller here.

Rows group what changes alike: per number, the calls with the same before and after become
one row naming the sources and callers they come from (none when every call changes alike);
then rows that differ only in the number are merged, so a moved range, or an allowlist of 100
callers, is one row. Outcomes follow the `explicit` routing mode: no trunk -> `404 No trunk
found`; no rule -> `404 Does not match Trunks or Dispatch Rules`; a conflict -> `503 Try again
later`. A room is shown as its pattern (docs/livekit.md#room-naming): `<caller>`, `<called>`
and `<random>` stand for what LiveKit puts there.
"""

from __future__ import annotations

from typing import Iterable

from google.protobuf.message import Message

from sipconf.model.kinds import INBOUND, RULE
from sipconf.plan.callers import Call, Callers, Source, caller_classes, sources_of
from sipconf.plan.canonical import canonical
from sipconf.plan.changes import OTHER_CALLER, RouteChange, RouteOutcome
from sipconf.plan.diff import Side
from sipconf.routing import rules
from sipconf.routing.numbers import normalize_number
from sipconf.routing.rules import rule_kind, select_dispatch_rule, validate_rules
from sipconf.routing.trunks import match_trunk

NO_TRUNK = "404 No trunk found"
NO_RULE = "404 Does not match Trunks or Dispatch Rules"
CONFLICT = "503 Try again later"


class Routes:
    """One side, prepared to route many calls: trunks by called number, rules by trunk, and
    the rules' conflict check done once (LiveKit checks the whole list on every call)."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self._by_number: dict[str, list[int]] = {}
        for at, trunk in enumerate(side.trunks):
            for number in dict.fromkeys(normalize_number(n) for n in trunk.numbers):
                self._by_number.setdefault(number, []).append(at)
        self._defaults = [at for at, trunk in enumerate(side.trunks) if not trunk.numbers]
        self._by_trunk: dict[str, list[int]] = {}
        self._any_trunk: list[int] = []
        for at, rule in enumerate(side.rules):
            for name in dict.fromkeys(rule.trunk_ids):
                self._by_trunk.setdefault(name, []).append(at)
            if not rule.trunk_ids:
                self._any_trunk.append(at)
        self.invalid = validate_rules(side.rules)
        self._trunks_for: dict[str, list[Message]] = {}
        self._takers: dict[str, list[Message]] = {}
        self._outcomes: dict[tuple, RouteOutcome] = {}

    def trunks_for(self, number: str) -> list[Message]:
        """The trunks that could take a call to `number`: those listing it, and default trunks.
        `match_trunk` drops every other trunk, so it decides the same on these alone."""
        found = self._trunks_for.get(number)
        if found is None:
            at = sorted(self._by_number.get(normalize_number(number), []) + self._defaults)
            found = self._trunks_for[number] = [self.side.trunks[i] for i in at]
        return found

    def rules_for(self, trunk: Message) -> list[Message]:
        """The rules a call on `trunk` could select: those naming it, and those naming none."""
        found = sorted(set(self._by_trunk.get(trunk.sip_trunk_id, [])) | set(self._any_trunk))
        return [self.side.rules[at] for at in found]

    def takers(self, number: str) -> list[Message]:
        """The rules that could take a call to `number` on a trunk that could take it."""
        found = self._takers.get(number)
        if found is None:
            found = self._takers[number] = [
                rule
                for trunk in self.trunks_for(number)
                for rule in self.rules_for(trunk)
                if not rule.numbers or number in rule.numbers
            ]
        return found

    def outcome(self, number: str, call: Call) -> RouteOutcome:
        """Where a call to `number` goes on this side.

        Numbers taken by the same trunks and rules route alike (those trunks all list them,
        or none; the rules are those that list them, or none), so an outcome is worked out
        once per such group and call. A conflict names the number, so it is never reused.
        """
        key = (
            tuple(map(id, self.trunks_for(number))), tuple(map(id, self.takers(number))), call.source, id(call.callers)
        )
        found = self._outcomes.get(key)
        if found is None:
            found = self._route(number, call)
            if not (found.rejection or "").startswith(CONFLICT):
                self._outcomes[key] = found
        return found

    def _route(self, number: str, call: Call) -> RouteOutcome:
        facts = call.facts(number)
        match = match_trunk(self.trunks_for(number), facts)
        if not match.ok:
            return RouteOutcome(rejection=f"{CONFLICT}: {match.error.message}")
        trunk = match.value.trunk
        if trunk is None:
            return RouteOutcome(rejection=NO_TRUNK)
        if self.invalid is not None:
            return RouteOutcome(trunk=trunk.name, rejection=f"{CONFLICT}: {self.invalid.message}")
        chosen = select_dispatch_rule(self.rules_for(trunk), trunk, facts)
        if not chosen.ok:
            if chosen.error.message == rules.NO_RULE:
                return RouteOutcome(trunk=trunk.name, rejection=NO_RULE)
            return RouteOutcome(trunk=trunk.name, rejection=f"{CONFLICT}: {chosen.error.message}")
        rule = chosen.value
        return RouteOutcome(trunk=trunk.name, rule=rule.name, room=room_pattern(rule))


def numbers_of(side: Side) -> set[str]:
    found = {n for t in side.trunks for n in t.numbers}
    found |= {n for r in side.rules for n in r.numbers}
    return found


def route_impact(before: Side, after: Side) -> tuple[RouteChange, ...]:
    """The rows of numbers (and calls) whose outcome differs, in the order of their first number."""
    changed = Changed(before, after)
    if not changed.trunks and not changed.rules:
        return ()  # the same objects route every call alike: a plan with nothing to do costs no routing
    return _Impact(Routes(before), Routes(after)).rows(before, after, changed)


class _Interned:
    """A callers tuple stood for by its identity: a row key hashes it once, not per number."""

    def __init__(self, callers: tuple[str, ...]) -> None:
        self.callers = callers


class _Impact:
    """One computation: both sides, and what numbers routed by the same objects share (their
    representative calls, their caller sets), worked out once."""

    def __init__(self, old: Routes, new: Routes) -> None:
        self.old, self.new = old, new
        self._calls: dict[tuple, tuple[list[Source], list[Callers]]] = {}
        self._picked: dict[tuple[int, ...], _Interned] = {}
        self._interned: dict[tuple[str, ...], _Interned] = {}

    def rows(self, before: Side, after: Side, changed: Changed) -> tuple[RouteChange, ...]:
        reach = reached_numbers(changed, self.old, self.new)
        seen: dict[str, str] = {}
        for number in sorted(numbers_of(before) | numbers_of(after)):
            key = normalize_number(number)
            if reach is None or key in reach:
                seen.setdefault(key, number)
        merged: dict[tuple, list[str]] = {}
        for key in sorted(seen):
            number = seen[key]
            for row in self._rows_for(number):
                merged.setdefault(row, []).append(number)
        return tuple(
            RouteChange(tuple(numbers), b, a, sources, None if callers is None else callers.callers)
            for (sources, callers, b, a), numbers in merged.items()
        )

    def _calls_to(self, number: str) -> tuple[list[Source], list[Callers]]:
        trunks = self.old.trunks_for(number) + self.new.trunks_for(number)
        takers = self.old.takers(number) + self.new.takers(number)
        key = (tuple(map(id, trunks)), tuple(map(id, takers)))
        found = self._calls.get(key)
        if found is None:
            found = self._calls[key] = (sources_of(trunks), caller_classes(trunks, takers))
        return found

    def _rows_for(self, number: str) -> list[tuple]:
        """(sources, callers, before, after) of each group of calls to `number` that change alike."""
        sources, classes = self._calls_to(number)
        changed: dict[tuple[RouteOutcome, RouteOutcome], dict[str | None, list[int]]] = {}
        for source in sources:
            for at, callers in enumerate(classes):
                call = Call(source, callers)
                before, after = self.old.outcome(number, call), self.new.outcome(number, call)
                if before != after:
                    changed.setdefault((before, after), {}).setdefault(source.label, []).append(at)
        rows = []
        for (before, after), by_source in changed.items():
            # Sources whose callers change alike share a row; all of them (or all callers) is None.
            groups: dict[tuple[int, ...], list[str | None]] = {}
            for label, picked in by_source.items():
                groups.setdefault(tuple(picked), []).append(label)
            for picked, labels in groups.items():
                row_sources = None if len(labels) == len(sources) else tuple(labels)
                row_callers = None if len(picked) == len(classes) else self._callers([classes[at] for at in picked])
                rows.append((row_sources, row_callers, before, after))
        return rows

    def _callers(self, picked: list[Callers]) -> _Interned:
        key = tuple(map(id, picked))
        found = self._picked.get(key)
        if found is None:
            members = sorted({n for group in picked for n in group.numbers})
            other = any(not group.numbers for group in picked)
            callers = tuple(members) + ((OTHER_CALLER,) if other else ())
            found = self._picked[key] = self._interned.setdefault(callers, _Interned(callers))
        return found


class Changed:
    """The trunks and rules that differ between the sides, by name (both sides' objects of
    that name), compared as the diff compares them."""

    def __init__(self, before: Side, after: Side) -> None:
        self.trunks = _changed(INBOUND, before.trunks, after.trunks)
        self.rules = _changed(RULE, before.rules, after.rules)
        self.sides = (before, after)


def reached_numbers(changed: Changed, old: Routes, new: Routes) -> set[str] | None:
    """The normalised numbers a changed trunk or rule could route; None for every number."""
    if (old.invalid is None) != (new.invalid is None) or (old.invalid and old.invalid.message != new.invalid.message):
        return None
    reach: set[str] = set()
    for trunk in (t for pair in changed.trunks.values() for t in pair):
        if not trunk.numbers:
            return None  # a default trunk takes calls to any number
        reach.update(normalize_number(n) for n in trunk.numbers)
    before, after = changed.sides
    by_name = _by_name(before.trunks + after.trunks)
    for rule in (r for pair in changed.rules.values() for r in pair):
        if rule.numbers:
            reach.update(normalize_number(n) for n in rule.numbers)
            continue
        if not rule.trunk_ids:
            return None
        for trunk in (t for name in rule.trunk_ids for t in by_name.get(name, ())):
            if not trunk.numbers:
                return None
            reach.update(normalize_number(n) for n in trunk.numbers)
    return reach


def _by_name(objects: Iterable[Message]) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = {}
    for obj in objects:
        out.setdefault(obj.name, []).append(obj)
    return out


def _changed(kind: str, before: tuple[Message, ...], after: tuple[Message, ...]) -> dict[str, list[Message]]:
    """name -> the objects of that name on both sides, for each name whose objects differ in
    what the diff compares: a live rule's `media {}` (LiveKit adds it on create) is no change."""
    old, new = _by_name(before), _by_name(after)
    return {
        name: old.get(name, []) + new.get(name, [])
        for name in old.keys() | new.keys()
        if not _same(kind, old.get(name, []), new.get(name, []))
    }


def _same(kind: str, old: list[Message], new: list[Message]) -> bool:
    if old == new:
        return True
    return len(old) == len(new) and all(canonical(kind, a) == canonical(kind, b) for a, b in zip(old, new))


def room_pattern(rule: Message) -> str:
    """The room, or its pattern where LiveKit adds the caller, the called number or a random
    suffix (docs/livekit.md#room-naming); ` (PIN)` when the rule asks for one."""
    kind = rule_kind(rule)
    member = getattr(rule.rule, kind)
    pin = " (PIN)" if member.pin else ""
    if kind == "dispatch_rule_direct":
        return member.room_name + pin
    if kind == "dispatch_rule_individual":
        base = f"{member.room_prefix}_<caller>" if member.room_prefix else "<caller>"
        return base + ("" if member.no_randomness else "_<random>") + pin
    base = f"{member.room_prefix}_<called>" if member.room_prefix else "<called>"
    return base + ("_<random>" if member.randomize else "") + pin
