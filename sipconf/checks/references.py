"""Dispatch rules that name trunks the spec does not define as inbound trunks.

LiveKit stores `trunk_ids` raw and never checks them, so a typo in a rule's
`trunks` silently makes the rule unusable: no call ever matches a trunk of that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sipconf.checks.base import CheckBase
from sipconf.issues import Issue
from sipconf.model import DesiredState


@dataclass(frozen=True)
class RuleUnknownTrunk(CheckBase):
    code: str = "rule-unknown-trunk"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        known = {o.name for o in state.inbound} | {o.name for o in state.outbound}
        candidates: list[str] | None = None
        for rule in state.rules:
            for index, name in enumerate(rule.message.trunk_ids):
                if name in known:
                    continue
                if candidates is None:
                    import difflib  # only for a name that is wrong

                    candidates = sorted(known)
                close = difflib.get_close_matches(name, candidates, n=1)
                hint = f'did you mean "{close[0]}"?' if close else "define it under trunks, or remove it from the rule"
                yield self.issue(
                    rule, f'dispatch rule "{rule.name}" names unknown trunk "{name}": {hint}', f"trunks.{index}", "trunks"
                )


@dataclass(frozen=True)
class RuleOutboundOnlyTrunk(CheckBase):
    """A rule only ever sees inbound calls; an outbound-only trunk never matches one."""

    code: str = "rule-outbound-only-trunk"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        inbound = {o.name for o in state.inbound}
        outbound = {o.name for o in state.outbound}
        for rule in state.rules:
            for index, name in enumerate(rule.message.trunk_ids):
                if name in outbound and name not in inbound:
                    yield self.issue(
                        rule,
                        f'dispatch rule "{rule.name}" names trunk "{name}", which has only an outbound half:'
                        " no inbound call can match it; add an inbound half or remove it from the rule",
                        f"trunks.{index}",
                        "trunks",
                    )
