"""Routing coverage by spec entry, as a user reads the spec: which trunks, dispatch rules and
number entries no scenario touched.

- Only calls that were placed count: a scenario its driver cannot run touches nothing (one
  that ran and failed its assertions still touched what it reached).
- A trunk or rule is touched when a call was observed routed through it (its name came back
  from the API), or, for an outbound trunk, when a scenario dialled through it.
- A number entry is one line of a trunk's `numbers:` list. A range
  (`+15105550100..+15105550119`) is ONE entry, covered when a scenario reached any number in
  it, and shown with how many of its numbers were exercised. An inbound trunk's entry is
  reached by an inbound call to one of its numbers; an outbound trunk's entry by an outbound
  call through that trunk using one of its numbers as caller id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipconf.model import DesiredObject, DesiredState
from simulator.runner import Outcome


@dataclass(frozen=True)
class NumberEntry:
    """One entry of a trunk's `numbers:` list: its numbers, and those a scenario reached."""

    trunk: str  # "twilio inbound"
    numbers: tuple[str, ...]
    exercised: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.numbers[0] if len(self.numbers) == 1 else f"{self.numbers[0]}..{self.numbers[-1]}"

    @property
    def touched(self) -> bool:
        return bool(self.exercised)


@dataclass
class Coverage:
    total: int = 0
    untouched: dict[str, list[str]] = field(default_factory=dict)  # "inbound trunks" -> names
    ranges: list[NumberEntry] = field(default_factory=list)  # entries of more than one number
    entries: list[tuple[str, str, bool]] = field(default_factory=list)  # every entry: (kind, label, touched)

    @property
    def percent(self) -> float:
        missed = sum(len(v) for v in self.untouched.values())
        return 100.0 if self.total == 0 else 100.0 * (self.total - missed) / self.total

    def lines(self) -> list[str]:
        out = [f"routing coverage: {self.percent:.1f}% of {self.total} spec entries (trunks, dispatch rules, number entries)"]
        for what, names in self.untouched.items():
            if names:
                out.append(f"  untouched {what}: {', '.join(names)}")
        for entry in self.ranges:
            out.append(f"  number range {entry.label} ({entry.trunk}): "
                       f"{len(entry.exercised)} of {len(entry.numbers)} numbers exercised")
        return out


def coverage(states: list[DesiredState], outcomes: list[Outcome]) -> Coverage:
    trunks, rules, outbound = set(), set(), set()
    dialled: set[str] = set()  # numbers inbound calls reached
    caller_ids: set[tuple[str, str]] = set()  # (outbound trunk, number used as caller id)
    for o in outcomes:
        if not o.ran:  # "cannot run": no call was placed, nothing was touched
            continue
        call = o.loaded.scenario.call
        if o.result.trunk:
            trunks.add(o.result.trunk)
        if o.result.rule:
            rules.add(o.result.rule)
        if call.direction == "outbound":
            outbound.add(call.trunk)
            caller_ids.add((call.trunk, call.from_))
        else:
            dialled.add(call.to)
    cov = Coverage()
    seen: set[tuple[str, ...]] = set()
    groups: dict[str, list[str]] = {"inbound trunks": [], "outbound trunks": [], "dispatch rules": [], "number entries": []}

    def count(key: tuple[str, ...], kind: str, label: str, touched: bool) -> None:
        if key in seen:
            return
        seen.add(key)
        cov.total += 1
        cov.entries.append((kind, label, touched))
        if not touched:
            groups[kind].append(label)

    for state in states:
        for obj in state.inbound:
            count(("in", obj.name), "inbound trunks", obj.name, obj.name in trunks)
            for entry in number_entries(obj, f"{obj.name} inbound", lambda n: n in dialled):
                _entry(cov, count, entry)
        for obj in state.outbound:
            count(("out", obj.name), "outbound trunks", obj.name, obj.name in outbound)
            name = obj.name
            for entry in number_entries(obj, f"{name} outbound", lambda n: (name, n) in caller_ids):
                _entry(cov, count, entry)
        for obj in state.rules:
            count(("rule", obj.name), "dispatch rules", obj.name, obj.name in rules)
    cov.untouched = {k: sorted(v) if k != "number entries" else v for k, v in groups.items()}
    return cov


def _entry(cov: Coverage, count, entry: NumberEntry) -> None:
    count(("num", entry.trunk, entry.label), "number entries", f"{entry.label} ({entry.trunk})", entry.touched)
    if len(entry.numbers) > 1:
        cov.ranges.append(entry)


def number_entries(obj: DesiredObject, trunk: str, reached) -> list[NumberEntry]:
    """The trunk's `numbers:` entries as written: expanded numbers grouped back by the YAML
    position of the entry they came from (the normaliser keeps `numbers=<n>` origins)."""
    by_entry: dict[object, list[str]] = {}
    for n in obj.message.numbers:
        key = obj.field_origins.get(f"numbers={n}") or n
        by_entry.setdefault(key, []).append(n)
    return [NumberEntry(trunk, tuple(ns), tuple(n for n in ns if reached(n))) for ns in by_entry.values()]
