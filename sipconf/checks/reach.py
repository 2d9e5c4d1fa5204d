"""Dispatch rules no call can ever select: unreachable, or shadowed by a better rule.

Dispatch-rule selection and the PIN flow decide which rule a call ends in:
- with nothing entered yet, the best candidate wins; if it has a PIN the caller is prompted;
- after the prompt, `#` alone re-selects with `no_pin` (PIN rules skipped), digits re-select
  with that PIN (rules without it skipped).
So an open rule ends a call when it wins with nothing entered, or with `no_pin` after some PIN
rule won the first round; a PIN rule when some PIN rule wins the first round and it wins with its
own PIN. Each rule's witness calls (callspace) are routed through the routing index with those
inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from livekit.protocol import sip as sip_pb

from sipconf.checks.base import CheckBase
from sipconf.checks.callspace import CallSpace, Witness
from sipconf.checks.livekit import accepted_rules
from sipconf.checks.prepared import Prepared
from sipconf.issues import Issue
from sipconf.model import DesiredObject, DesiredState
from sipconf.routing.rules import pin_and_room


def _winner(space: CallSpace, witness: Witness, **pin) -> sip_pb.SIPDispatchRuleInfo | None:
    call = witness.call.with_pin(**pin) if pin else witness.call  # a witness has entered nothing yet
    return space.index.select_rule(witness.trunk, call).value


def final_rule(space: CallSpace, witness: Witness, rule: sip_pb.SIPDispatchRuleInfo) -> sip_pb.SIPDispatchRuleInfo | None:
    """The rule the call ends in when the caller does what `rule` needs (its PIN, or `#`)."""
    first = _winner(space, witness)
    if first is None:
        return None
    prompted = bool(pin_and_room(first)[0])
    own_pin = pin_and_room(rule)[0]
    if not prompted:
        return first
    return _winner(space, witness, pin=own_pin) if own_pin else _winner(space, witness, no_pin=True)


@dataclass(frozen=True)
class Reach:
    """For one rule: how many witness calls reach it, and which rules took them instead."""

    witnesses: int
    wins: int
    winners: tuple[str, ...]


def call_space(prepared: Prepared) -> CallSpace:
    """The call space of the rules LiveKit accepts, built once per prepared state."""
    return prepared.memo("call_space", lambda: CallSpace.of(prepared, accepted_rules(prepared)))


def analyse(state: DesiredState) -> list[tuple[DesiredObject, Reach]]:
    """Every accepted rule's reach. Both reach checks need it: it is computed once per state."""
    prepared = Prepared.of(state)
    return prepared.memo("reach", lambda: _analyse(prepared))


def _analyse(prepared: Prepared) -> list[tuple[DesiredObject, Reach]]:
    space = call_space(prepared)
    out: list[tuple[DesiredObject, Reach]] = []
    for obj, rule in accepted_rules(prepared):
        if not space.candidate_trunks(rule):
            continue  # only unknown or outbound trunks: rule-unknown-trunk reports it
        count = wins = 0
        winners: dict[str, None] = {}
        for witness in space.witnesses(rule):
            count += 1
            end = final_rule(space, witness, rule)
            if end is rule:
                wins += 1
            elif end is not None:
                winners[end.sip_dispatch_rule_id] = None
        out.append((obj, Reach(count, wins, tuple(winners))))
    return out


@dataclass(frozen=True)
class RuleUnreachable(CheckBase):
    """No call both lands on one of the rule's trunks and passes its own number filters."""

    code: str = "rule-unreachable"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        for obj, reach in analyse(state):
            if reach.witnesses == 0:
                yield self.issue(
                    obj,
                    f'dispatch rule "{obj.name}" can never be selected: no call its trunks accept matches its'
                    " numbers and inbound_numbers; align them with the trunks' numbers and allowed_numbers",
                    "numbers",
                    "inbound_numbers",
                    "trunks",
                )


@dataclass(frozen=True)
class RuleShadowed(CheckBase):
    """Calls reach the rule, but LiveKit always prefers another one (specific trunk, priority,
    then the smaller room name)."""

    code: str = "rule-shadowed"
    level: str = "warning"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        for obj, reach in analyse(state):
            if reach.witnesses and not reach.wins:
                others = ", ".join(f'"{name}"' for name in reach.winners) or "no rule"
                yield self.issue(
                    obj,
                    f'dispatch rule "{obj.name}" is never selected: every call it accepts goes to dispatch'
                    f" rule {others} instead; narrow that rule's numbers or trunks, or remove this one",
                )
