"""Which objects LiveKit refuses when a spec's trunks or rules are created one by one, in order.

LiveKit validates a new trunk (or rule) by running its conflict validator over every stored
one plus the new one; `routing.trunks.validate_trunks` and `routing.rules.validate_rules` are
that literal reference. Asking them once per object is quadratic in the size of the spec, so
the checks keep the validators' own keys in a dict instead: each object is looked up by its
keys, and only a conflicting object is handed to the literal validator, together with the one
object it conflicts with, for LiveKit's exact error text. `first_rejected` in checks.livekit
is the literal path these functions must agree with (tests hold them equal).
"""

from __future__ import annotations

from typing import Iterator, Sequence

from livekit.protocol import sip as sip_pb

from sipconf.checks.numbers import normalised
from sipconf.routing.errors import LiveKitError
from sipconf.routing.rules import pin_and_room, validate_rules
from sipconf.routing.trunks import validate_trunks

TrunkKey = tuple[str, str]
RuleKey = tuple[str, str, str, str]


def trunk_keys(trunk: sip_pb.SIPInboundTrunkInfo) -> list[TrunkKey]:
    """The (called, caller) keys `validate_trunks` files a trunk under, in its order: each
    distinct normalised number ("" for none) by each normalised allowed number ("" for none)."""
    called = list(dict.fromkeys(normalised(n) for n in trunk.numbers)) or [""]
    callers = [normalised(raw) for raw in dict.fromkeys(trunk.allowed_numbers or [""])]
    return [(number, caller) for number in called for caller in callers]


def rejected_trunks(trunks: Sequence[sip_pb.SIPInboundTrunkInfo]) -> Iterator[tuple[int, LiveKitError]]:
    """(index, LiveKit's error) for each trunk refused when they are created in order; the
    refused ones are not stored. The same as `first_rejected(trunks, validate_trunks)`."""
    owners: dict[TrunkKey, sip_pb.SIPInboundTrunkInfo] = {}
    for index, trunk in enumerate(trunks):
        keys = trunk_keys(trunk)
        # The first key, in the validator's order, held by a trunk with another id: the one
        # LiveKit names. Stored trunks never conflict with each other, so that trunk alone
        # plus this one give LiveKit's error for the whole list.
        earlier = next(
            (owners[key] for key in keys if key in owners and owners[key].sip_trunk_id != trunk.sip_trunk_id), None
        )
        if earlier is not None:
            yield index, _literal(validate_trunks([earlier, trunk]))
            continue
        for key in keys:
            owners[key] = trunk


def rule_keys(rule: sip_pb.SIPDispatchRuleInfo, pin: str) -> Iterator[RuleKey]:
    """The keys `validate_rules` files a rule under, in its order."""
    inbound = [normalised(n) for n in rule.inbound_numbers] or [""]
    called = [normalised(n) for n in rule.numbers] or [""]
    for trunk_id in rule.trunk_ids or [""]:
        for caller in inbound:
            for number in called:
                yield trunk_id, caller, number, pin


def rejected_rules(rules: Sequence[sip_pb.SIPDispatchRuleInfo]) -> Iterator[tuple[int, LiveKitError]]:
    """(index, LiveKit's error) for each rule refused when they are created in order. The same
    as `first_rejected(rules, validate_rules)`."""
    owners: dict[RuleKey, sip_pb.SIPDispatchRuleInfo] = {}
    for index, rule in enumerate(rules):
        try:
            pin, _room = pin_and_room(rule)
        except LiveKitError as err:
            yield index, err
            continue
        own: dict[RuleKey, sip_pb.SIPDispatchRuleInfo] = {}
        earlier = None
        for key in rule_keys(rule, pin):
            earlier = owners.get(key)
            if earlier is None:
                earlier = own.get(key)
            if earlier is not None:
                break
            own[key] = rule
        if earlier is not None:
            # A rule can conflict with itself (`+1 555` and `1555` are one key).
            yield index, _literal(validate_rules([rule] if earlier is rule else [earlier, rule]))
            continue
        owners.update(own)


def _literal(error: LiveKitError | None) -> LiveKitError:
    if error is None:
        raise RuntimeError("the literal validator accepts objects that share a key: the grouped keys are wrong")
    return error
