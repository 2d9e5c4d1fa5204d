"""Routing coverage: which trunks, rules and numbers of the spec no scenario touched.

A trunk or rule is touched when a call was observed routed through it (its name came back
from the API), or, for outbound trunks, when a scenario dialled through it. A number is
touched when an inbound call dialled it or an outbound call used it as caller id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipconf.model import DesiredState
from simulator.runner import Outcome


@dataclass
class Coverage:
    total: int = 0
    untouched: dict[str, list[str]] = field(default_factory=dict)  # "inbound trunk" -> names

    @property
    def percent(self) -> float:
        missed = sum(len(v) for v in self.untouched.values())
        return 100.0 if self.total == 0 else 100.0 * (self.total - missed) / self.total

    def lines(self) -> list[str]:
        out = [f"routing coverage: {self.percent:.1f}% of {self.total} trunks, rules and numbers"]
        for what, names in self.untouched.items():
            if names:
                out.append(f"  untouched {what}: {', '.join(names)}")
        return out


def coverage(states: list[DesiredState], outcomes: list[Outcome]) -> Coverage:
    trunks, rules, outbound, numbers = set(), set(), set(), set()
    for o in outcomes:
        call = o.loaded.scenario.call
        if o.result.trunk:
            trunks.add(o.result.trunk)
        if o.result.rule:
            rules.add(o.result.rule)
        if call.direction == "outbound":
            outbound.add(call.trunk)
            numbers.add(call.from_)
        else:
            numbers.add(call.to)
    cov = Coverage()
    seen: set[tuple[str, str]] = set()
    groups = {"inbound trunks": [], "outbound trunks": [], "dispatch rules": [], "numbers": []}
    for state in states:
        for obj in state.inbound:
            _count(cov, seen, groups["inbound trunks"], ("in", obj.name), obj.name in trunks)
            for n in obj.message.numbers:
                _count(cov, seen, groups["numbers"], ("num", n), n in numbers)
        for obj in state.outbound:
            _count(cov, seen, groups["outbound trunks"], ("out", obj.name), obj.name in outbound)
            for n in obj.message.numbers:
                _count(cov, seen, groups["numbers"], ("num", n), n in numbers)
        for obj in state.rules:
            _count(cov, seen, groups["dispatch rules"], ("rule", obj.name), obj.name in rules)
    cov.untouched = {k: sorted(v) for k, v in groups.items()}
    return cov


def _count(cov: Coverage, seen: set, missed: list[str], key: tuple[str, str], touched: bool) -> None:
    if key in seen:
        return
    seen.add(key)
    cov.total += 1
    if not touched:
        missed.append(key[1])
