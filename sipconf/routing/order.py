"""Why one dispatch rule beats another, in words (docs/routing.md has the same order as a table).

`rules.rule_priority` gives LiveKit's number and `rules.select_dispatch_rule` applies the order
(docs/livekit.md#rule-selection); this module names the first step of that order where two
rules differ, so `sipconf explain` can say "a rule listing the called number beats a rule for
any called number and caller" beside the number. Every step below is one term of the number
or one tie-break of the selection, in the order they decide:

1. a rule naming the call's trunk beats a rule for every trunk, whatever their priorities;
2. +1000 for no `numbers`, +1000 for no `inbound_numbers`: the rule listing more of them wins;
3. +100 without a PIN: a rule with a PIN wins (with no PIN entered yet, the caller is asked);
4. direct 0, individual 1, callee 2;
5. then the smaller room name or prefix (byte order);
6. then the rule listed first (LiveKit lists them by id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.rules import pin_and_room, rule_kind, select_dispatch_rule
from sipconf.sip.gostr import quote

_KINDS = {"dispatch_rule_direct": "direct", "dispatch_rule_individual": "individual", "dispatch_rule_callee": "callee"}
ONLY_RULE = "the only rule that takes this call"


@dataclass(frozen=True)
class Precedence:
    """Why `rule` was chosen: the rule it beat (None when it was the only candidate) and why."""

    rule: sip.SIPDispatchRuleInfo
    runner_up: sip.SIPDispatchRuleInfo | None
    reason: str


def precedence(
    rules: Sequence[sip.SIPDispatchRuleInfo], trunk: sip.SIPInboundTrunkInfo | None, call: CallFacts,
    chosen: sip.SIPDispatchRuleInfo,
) -> Precedence | None:
    """Why `chosen` wins this call among `rules`, or None when the engine would not choose it.

    The runner-up is asked of the engine itself: the rule it would choose were `chosen` not
    there. Rules of other trunks are left out first, as LiveKit's server does
    (docs/livekit.md#rule-selection), so a conflict between them does not hide the answer.
    """
    trunk_id = trunk.sip_trunk_id if trunk is not None else None
    listed = [r for r in rules if trunk_id is None or not r.trunk_ids or trunk_id in r.trunk_ids]
    winner = select_dispatch_rule(listed, trunk, call, with_trace=False).value
    if winner is None or winner.sip_dispatch_rule_id != chosen.sip_dispatch_rule_id:
        return None
    rest = [r for r in listed if r is not winner]
    runner_up = select_dispatch_rule(rest, trunk, call, with_trace=False).value if rest else None
    if runner_up is None:
        return Precedence(winner, None, ONLY_RULE)
    return Precedence(winner, runner_up, beats(winner, runner_up, trunk_id))


def beats(winner: sip.SIPDispatchRuleInfo, loser: sip.SIPDispatchRuleInfo, trunk_id: str | None) -> str:
    """The first step of LiveKit's order where `winner` comes before `loser`, as a sentence."""
    names_trunk = (trunk_id is not None and trunk_id in winner.trunk_ids, trunk_id is not None and trunk_id in loser.trunk_ids)
    if names_trunk == (True, False):
        return "a rule naming the call's trunk beats a rule for every trunk"
    lists = (_lists(winner), _lists(loser))
    if len(lists[0]) != len(lists[1]):
        return f"{_describe_lists(lists[0])} beats {_describe_lists(lists[1])}"
    (win_pin, win_room), (lose_pin, lose_room) = pin_and_room(winner), pin_and_room(loser)
    if bool(win_pin) != bool(lose_pin):
        return "a rule with a PIN beats a rule without one"
    kinds = (_KINDS[rule_kind(winner)], _KINDS[rule_kind(loser)])
    if kinds[0] != kinds[1]:
        return f"{_a(kinds[0])} rule beats {_a(kinds[1])} rule (direct, then individual, then callee)"
    if win_room != lose_room:
        return f"at equal priority the smaller room name wins ({quote(win_room)} before {quote(lose_room)})"
    return "a full tie: the rule listed first wins (LiveKit lists rules by id)"


def _lists(rule: sip.SIPDispatchRuleInfo) -> tuple[str, ...]:
    return tuple(what for what, values in (("called", rule.numbers), ("caller", rule.inbound_numbers)) if values)


def _describe_lists(lists: tuple[str, ...]) -> str:
    if lists == ("called", "caller"):
        return "a rule listing the called number and the caller"
    if lists == ("called",):
        return "a rule listing the called number"
    if lists == ("caller",):
        return "a rule listing the caller"
    return "a rule for any called number and caller"



def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"
