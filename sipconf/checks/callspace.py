"""Witness calls: a small set of calls that stands for every call a dispatch rule could take.

Routing only compares numbers for equality, so two called numbers listed by exactly the same
trunks and rules route alike; one representative per such class (plus one number nobody
lists) covers all calls. The same holds for callers, and for sources (one address inside each
allowlist entry plus one outside all of them). Every witness is routed by the engine itself;
nothing here re-implements a routing rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Sequence

from livekit.protocol import sip as sip_pb

from sipconf.routing.call import CallFacts
from sipconf.routing.masks import parse_addr
from sipconf.routing.numbers import normalize_number
from sipconf.routing.trunks import match_trunk


# Stand-ins for "any other" caller, called number and source: documentation ranges that no
# spec lists (RFC 5737 TEST-NET-1 for the address).
OTHER_CALLER = "+19995550100"
OTHER_CALLED = "+19995550199"
OTHER_IP = "192.0.2.1"


def sources(*trunks: sip_pb.SIPInboundTrunkInfo) -> list[tuple[str, str]]:
    """(source IP, From host) pairs that reach each allowlist entry, plus one from elsewhere."""
    out: list[tuple[str, str]] = []
    for trunk in trunks:
        for mask in trunk.allowed_addresses:
            ip = mask.partition("/")[0]
            out.append((ip, "") if parse_addr(ip) else (OTHER_IP, mask))
    out.append((OTHER_IP, ""))
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Witness:
    trunk: sip_pb.SIPInboundTrunkInfo | None
    call: CallFacts


def _representatives(values: list[str], signature) -> list[str]:
    seen: dict[tuple, str] = {}
    for value in dict.fromkeys(values):
        seen.setdefault(signature(value), value)
    return list(seen.values())


@dataclass(frozen=True)
class CallSpace:
    """The inbound trunks and (conflict-free) rules witness calls are routed against."""

    trunks: Sequence[sip_pb.SIPInboundTrunkInfo]
    rules: Sequence[sip_pb.SIPDispatchRuleInfo]

    @classmethod
    def of(cls, prepared, accepted) -> "CallSpace":
        """The prepared inbound trunks and the accepted rules, the latter sorted by id as the
        server lists them (docs/livekit.md#rule-selection), so full ties break as they do when
        routed."""
        rules = sorted((m for _, m in accepted), key=lambda r: r.sip_dispatch_rule_id)
        return cls([m for _, m in prepared.inbound], rules)

    @cached_property
    def _trunk_numbers(self) -> list[tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]]:
        """Per trunk: raw and normalised `numbers` and `allowed_numbers`, for set lookups.
        `same_number(a, b)` is "raw equal or normalised equal" (docs/livekit.md#numbers), so
        membership in a list is membership in one of the two sets."""
        return [
            (
                frozenset(t.numbers), frozenset(map(normalize_number, t.numbers)),
                frozenset(t.allowed_numbers), frozenset(map(normalize_number, t.allowed_numbers)),
            )
            for t in self.trunks
        ]

    def _called_signature(self, value: str) -> tuple:
        cache = self.__dict__.setdefault("_called_cache", {})
        if value not in cache:
            cache[value] = self._called_signature_of(value)
        return cache[value]

    def _called_signature_of(self, value: str) -> tuple:
        norm = normalize_number(value)
        return tuple(value in r.numbers for r in self.rules) + tuple(
            value in raw or norm in normed for raw, normed, _, _ in self._trunk_numbers
        )

    def _caller_signature(self, value: str) -> tuple:
        cache = self.__dict__.setdefault("_caller_cache", {})
        if value not in cache:
            cache[value] = self._caller_signature_of(value)
        return cache[value]

    def _caller_signature_of(self, value: str) -> tuple:
        norm = normalize_number(value)
        return tuple(value in r.inbound_numbers for r in self.rules) + tuple(
            value in raw or norm in normed for _, _, raw, normed in self._trunk_numbers
        )

    @cached_property
    def _every_called(self) -> list[str]:
        values = [n for t in self.trunks for n in t.numbers] + [n for r in self.rules for n in r.numbers]
        return _representatives(values, self._called_signature)

    @cached_property
    def _every_caller(self) -> list[str]:
        values = [n for t in self.trunks for n in t.allowed_numbers] + [n for r in self.rules for n in r.inbound_numbers]
        return _representatives(values, self._caller_signature)

    def rules_for(self, trunk: sip_pb.SIPInboundTrunkInfo | None) -> list[sip_pb.SIPDispatchRuleInfo]:
        """The list the server hands to selection (docs/livekit.md#rule-selection): rules without `trunk_ids` plus those
        naming the matched trunk (all rules when no trunk), sorted by id."""
        cache = self.__dict__.setdefault("_rules_cache", {})
        key = trunk.sip_trunk_id if trunk is not None else None
        if key not in cache:
            cache[key] = [r for r in self.rules if trunk is None or not r.trunk_ids or key in r.trunk_ids]
        return cache[key]

    def candidate_trunks(self, rule: sip_pb.SIPDispatchRuleInfo) -> list[sip_pb.SIPInboundTrunkInfo | None]:
        """The trunks a rule can take calls from. With no inbound trunk in the spec, calls come
        through trunks sipconf does not see, which routing can only model as "no trunk"."""
        if not self.trunks:
            return [] if rule.trunk_ids else [None]
        if rule.trunk_ids:
            return [t for t in self.trunks if t.sip_trunk_id in rule.trunk_ids]
        return list(self.trunks)

    def witnesses(self, rule: sip_pb.SIPDispatchRuleInfo) -> Iterator[Witness]:
        """Calls that pass the rule's own number filters and land on one of its trunks."""
        every_called, every_caller = self._every_called, self._every_caller
        for trunk in self.candidate_trunks(rule):
            called = list(rule.numbers) or (list(trunk.numbers) if trunk and trunk.numbers else list(every_called))
            callers = list(rule.inbound_numbers) or (
                list(trunk.allowed_numbers) if trunk and trunk.allowed_numbers else list(every_caller)
            )
            if not rule.numbers:
                called.append(OTHER_CALLED)
            if not rule.inbound_numbers:
                callers.append(OTHER_CALLER)
            origins = sources(trunk) if trunk is not None else [("", "")]
            for to_user in _representatives(called, self._called_signature):
                for from_user in _representatives(callers, self._caller_signature):
                    for src_ip, host in origins:
                        call = CallFacts(from_user=from_user, to_user=to_user, src_ip=src_ip, from_host=host)
                        if self._lands_on(trunk, call):
                            yield Witness(trunk, call)
                            break

    def _lands_on(self, trunk: sip_pb.SIPInboundTrunkInfo | None, call: CallFacts) -> bool:
        if trunk is None:
            return True
        decision = match_trunk(self.trunks, call)
        return decision.error is None and decision.value.trunk is trunk
