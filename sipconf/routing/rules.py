"""Dispatch-rule conflict validation (docs/livekit.md#rule-conflicts), priorities and selection
(docs/livekit.md#rule-selection)."""

from __future__ import annotations

from typing import Sequence

from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.errors import FAILED_PRECONDITION, INVALID_ARGUMENT, LiveKitError
from sipconf.sip.gostr import quote
from sipconf.routing.numbers import normalize_number
from sipconf.routing.trace import Decision, new_trace

UNSUPPORTED_RULE = "unsupported SIP Dispatch Rule: <nil>"
NO_RULE = "No SIP Dispatch Rules defined"

_KIND_NAMES = {
    "dispatch_rule_direct": "direct",
    "dispatch_rule_individual": "individual",
    "dispatch_rule_callee": "callee",
}


def rule_kind(rule: sip.SIPDispatchRuleInfo) -> str | None:
    """`dispatch_rule_direct` / `_individual` / `_callee`, or None for an unset oneof."""
    if not rule.HasField("rule"):
        return None
    return rule.rule.WhichOneof("rule")


def pin_and_room(rule: sip.SIPDispatchRuleInfo) -> tuple[str, str]:
    """`GetPinAndRoom`: (pin, room name or prefix). Raises LiveKitError for an unset oneof."""
    kind = rule_kind(rule)
    if kind is None:
        raise LiveKitError(INVALID_ARGUMENT, UNSUPPORTED_RULE)
    member = getattr(rule.rule, kind)
    room = member.room_name if kind == "dispatch_rule_direct" else member.room_prefix
    return member.pin, room


def rule_label(rule: sip.SIPDispatchRuleInfo) -> str:
    return rule.sip_dispatch_rule_id or rule.name or "<new>"


def validate_rules(rules: Sequence[sip.SIPDispatchRuleInfo]) -> LiveKitError | None:
    """LiveKit's dispatch-rule conflict check (docs/livekit.md#rule-conflicts); None when valid.

    Key = trunk id (or "") x normalised inbound number (or "") x normalised number (or "")
    x PIN. There is no self-exclusion: one rule listing `+1 555` and `1555` conflicts with
    itself. Rule kind and room are not part of the key.
    """
    owners: dict[tuple[str, str, str, str], sip.SIPDispatchRuleInfo] = {}
    for rule in rules:
        try:
            pin, _room = pin_and_room(rule)
        except LiveKitError as err:
            return err
        for trunk_id in rule.trunk_ids or [""]:
            for inbound in rule.inbound_numbers or [""]:
                for number in rule.numbers or [""]:
                    key = (trunk_id, normalize_number(inbound), normalize_number(number), pin)
                    owner = owners.get(key)
                    if owner is not None:
                        return LiveKitError(INVALID_ARGUMENT, _conflict_message(owner))
                    owners[key] = rule
    return None


def _conflict_message(earlier: sip.SIPDispatchRuleInfo) -> str:
    return (
        "Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists "
        f"in dispatch rule {quote(earlier.sip_dispatch_rule_id or '<new>')} {quote(earlier.name or '<blank name>')}"
    )


def rule_priority(rule: sip.SIPDispatchRuleInfo) -> int:
    """Lower wins (docs/livekit.md#rule-selection): direct 0/100, individual 1/101, callee 2/102
    (with PIN / without), +1000 without `inbound_numbers`, +1000 without `numbers`."""
    pin, _room = pin_and_room(rule)
    base = {"dispatch_rule_direct": 0, "dispatch_rule_individual": 1, "dispatch_rule_callee": 2}[rule_kind(rule)]
    priority = base if pin else base + 100
    if not rule.inbound_numbers:
        priority += 1000
    if not rule.numbers:
        priority += 1000
    return priority


def _sort_key(rule: sip.SIPDispatchRuleInfo) -> tuple[int, str]:
    # Ties go to the lexicographically smaller room name / prefix; Python compares str by
    # code point, which is the same order as Go's byte-wise comparison of UTF-8.
    return rule_priority(rule), pin_and_room(rule)[1]


def select_dispatch_rule(
    rules: Sequence[sip.SIPDispatchRuleInfo],
    trunk: sip.SIPInboundTrunkInfo | None,
    call: CallFacts,
    with_trace: bool = True,
) -> Decision[sip.SIPDispatchRuleInfo]:
    """Choose the dispatch rule for a call on `trunk` (None when no trunk matched), 3.4.

    "The entire list passes through the conflict validator (docs/livekit.md#rule-conflicts) during iteration: any
    conflict or invalid rule anywhere aborts with that error, even between rules unrelated
    to the call." The best specific candidate wins whenever one exists, else the best default.
    Without `with_trace` no reason is formatted and the trace is empty.
    """
    trace = new_trace(with_trace)
    invalid = validate_rules(rules)
    if invalid is not None:
        if with_trace:
            trace.append(f"the dispatch rules are inconsistent: {invalid.message}")
        return Decision(None, invalid, tuple(trace))
    best: dict[bool, sip.SIPDispatchRuleInfo] = {}
    for rule in rules:
        name = rule_label(rule)
        reason = _skip_reason(rule, call, with_trace)
        if reason is None and rule.trunk_ids and (trunk is None or trunk.sip_trunk_id not in rule.trunk_ids):
            reason = "no trunk matched" if trunk is None else "another trunk"
            if with_trace and trunk is not None:
                reason = f"trunk {trunk.sip_trunk_id} not in trunk_ids"
        if reason is not None:
            if with_trace:
                trace.append(f"rule {name} skipped: {reason}")
            continue
        specific = bool(rule.trunk_ids)
        if with_trace:
            priority, room = _sort_key(rule)
            trace.append(
                f"rule {name} is a {'specific' if specific else 'default'} candidate, priority {priority}"
                f" ({_KIND_NAMES[rule_kind(rule)]}, room {quote(room)})"
            )
        current = best.get(specific)
        if current is None or _sort_key(rule) < _sort_key(current):
            best[specific] = rule
    if True in best:
        chosen = best[True]
        if with_trace:
            trace.append(f"rule {rule_label(chosen)} chosen: the best rule naming trunk {trunk.sip_trunk_id}")
    elif False in best:
        chosen = best[False]
        if with_trace:
            trace.append(f"rule {rule_label(chosen)} chosen: the best rule for any trunk")
    else:
        trace.append("no dispatch rule matches the call")
        return Decision(None, LiveKitError(FAILED_PRECONDITION, NO_RULE), tuple(trace))
    return Decision(chosen, None, tuple(trace))


def _skip_reason(rule: sip.SIPDispatchRuleInfo, call: CallFacts, with_trace: bool = True) -> str | None:
    """Why a rule cannot take the call, or None. Numbers compare exactly here
    (docs/livekit.md#numbers).

    Without `with_trace` the reason is a short fixed word: only whether there is one counts.
    """
    if rule.inbound_numbers and call.from_user not in rule.inbound_numbers:
        return f"caller {call.from_user} not in inbound_numbers" if with_trace else "caller"
    if rule.numbers and call.to_user not in rule.numbers:
        return f"called number {call.to_user} not in numbers" if with_trace else "called number"
    pin, _room = pin_and_room(rule)
    if call.no_pin and pin:
        return "the caller entered no PIN and the rule has one"
    if call.pin and not pin:
        return "a PIN was entered and the rule has none"
    if call.pin and call.pin != pin:
        return "the entered PIN is not the rule's PIN"
    return None
