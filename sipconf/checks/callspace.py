"""Witness calls: a small set of calls that stands for every call a dispatch rule could take.

Routing only compares numbers for equality, so two called numbers listed by exactly the same
trunks and rules route alike; one representative per such class (plus one number nobody
lists) covers all calls. The same holds for callers, and for sources (one address inside each
allowlist entry plus one outside all of them). Every witness is routed by the routing index
(`sipconf.routing.index`), built once per call space; nothing here re-implements a routing rule.

Everything a witness needs is looked up in indexes built once per call space (which trunks
and rules list a number, which rules name a trunk), so the work grows with the number of
witnesses, not with witnesses times the size of the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Iterator, Sequence

from livekit.protocol import sip as sip_pb

from sipconf.checks.numbers import normalised
from sipconf.routing.call import CallFacts
from sipconf.routing.index import RoutingIndex
from sipconf.routing.masks import parse_addr


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


def _representatives(values: Iterable[str], signature) -> list[str]:
    seen: dict[tuple, str] = {}
    for value in dict.fromkeys(values):
        seen.setdefault(signature(value), value)
    return list(seen.values())


_NOBODY: frozenset[int] = frozenset()


class NumberIndex:
    """Which of a list of objects hold a number: raw, or raw-or-normalised as trunk matching
    compares them (LiveKit's NormalizeNumber)."""

    def __init__(self, lists: Iterable[Iterable[str]], *, normalised_too: bool) -> None:
        raw: dict[str, set[int]] = {}
        norm: dict[str, set[int]] = {}
        for index, numbers in enumerate(lists):
            for number in numbers:
                raw.setdefault(number, set()).add(index)
                if normalised_too:
                    norm.setdefault(normalised(number), set()).add(index)
        self.normalised_too = normalised_too
        self.raw = {number: frozenset(holders) for number, holders in raw.items()}
        self.norm = {number: frozenset(holders) for number, holders in norm.items()}

    def holders(self, value: str) -> frozenset[int]:
        """The indexes of the lists that hold `value`."""
        raw = self.raw.get(value, _NOBODY)
        if not self.normalised_too:
            return raw
        norm = self.norm.get(normalised(value), _NOBODY)
        return raw if norm <= raw else raw | norm


@dataclass(frozen=True)
class CallSpace:
    """The inbound trunks and (conflict-free) rules witness calls are routed against."""

    trunks: Sequence[sip_pb.SIPInboundTrunkInfo]
    rules: Sequence[sip_pb.SIPDispatchRuleInfo]

    @classmethod
    def of(cls, prepared, accepted) -> "CallSpace":
        """The prepared inbound trunks and the accepted rules, the latter sorted by id as the
        server lists them, so full ties break as they do when routed."""
        rules = sorted((m for _, m in accepted), key=lambda r: r.sip_dispatch_rule_id)
        return cls([m for _, m in prepared.inbound], rules)

    # -- indexes ----------------------------------------------------------------------------

    @cached_property
    def index(self) -> RoutingIndex:
        """Routing over these trunks and rules: witnesses are matched and selected through it."""
        return RoutingIndex.build(self.trunks, self.rules)

    @cached_property
    def _called_by_rules(self) -> NumberIndex:
        return NumberIndex((r.numbers for r in self.rules), normalised_too=False)

    @cached_property
    def _called_by_trunks(self) -> NumberIndex:
        return NumberIndex((t.numbers for t in self.trunks), normalised_too=True)

    @cached_property
    def _callers_by_rules(self) -> NumberIndex:
        return NumberIndex((r.inbound_numbers for r in self.rules), normalised_too=False)

    @cached_property
    def _callers_by_trunks(self) -> NumberIndex:
        return NumberIndex((t.allowed_numbers for t in self.trunks), normalised_too=True)

    @cached_property
    def _trunks_by_id(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for index, trunk in enumerate(self.trunks):
            out.setdefault(trunk.sip_trunk_id, []).append(index)
        return out

    # -- signatures: numbers listed by the same trunks and rules route alike ---------------

    def _called_signature(self, value: str) -> tuple:
        cache = self.__dict__.setdefault("_called_cache", {})
        if value not in cache:
            cache[value] = (self._called_by_rules.holders(value), self._called_by_trunks.holders(value))
        return cache[value]

    def _caller_signature(self, value: str) -> tuple:
        cache = self.__dict__.setdefault("_caller_cache", {})
        if value not in cache:
            cache[value] = (self._callers_by_rules.holders(value), self._callers_by_trunks.holders(value))
        return cache[value]

    @cached_property
    def _every_called(self) -> list[str]:
        values = [n for t in self.trunks for n in t.numbers] + [n for r in self.rules for n in r.numbers]
        return _representatives(values, self._called_signature)

    @cached_property
    def _every_caller(self) -> list[str]:
        values = [n for t in self.trunks for n in t.allowed_numbers] + [n for r in self.rules for n in r.inbound_numbers]
        return _representatives(values, self._caller_signature)

    # -- what routing sees -----------------------------------------------------------------

    def candidate_trunks(self, rule: sip_pb.SIPDispatchRuleInfo) -> list[sip_pb.SIPInboundTrunkInfo | None]:
        """The trunks a rule can take calls from. With no inbound trunk in the spec, calls come
        through trunks sipconf does not see, which routing can only model as "no trunk"."""
        if not self.trunks:
            return [] if rule.trunk_ids else [None]
        if rule.trunk_ids:
            by_id = self._trunks_by_id
            found = {i for trunk_id in rule.trunk_ids for i in by_id.get(trunk_id, ())}
            return [self.trunks[i] for i in sorted(found)]
        return list(self.trunks)

    def witnesses(self, rule: sip_pb.SIPDispatchRuleInfo) -> Iterator[Witness]:
        """Calls that pass the rule's own number filters and land on one of its trunks."""
        for trunk in self.candidate_trunks(rule):
            called = list(rule.numbers) or (list(trunk.numbers) if trunk and trunk.numbers else list(self._every_called))
            callers = list(rule.inbound_numbers) or (
                list(trunk.allowed_numbers) if trunk and trunk.allowed_numbers else list(self._every_caller)
            )
            if not rule.numbers:
                called.append(OTHER_CALLED)
            if not rule.inbound_numbers:
                callers.append(OTHER_CALLER)
            origins = sources(trunk) if trunk is not None else [("", "")]
            caller_reps = _representatives(callers, self._caller_signature)
            for to_user in _representatives(called, self._called_signature):
                for from_user in caller_reps:
                    for src_ip, host in origins:
                        call = CallFacts(from_user=from_user, to_user=to_user, src_ip=src_ip, from_host=host)
                        if self._lands_on(trunk, call):
                            yield Witness(trunk, call)
                            break

    def _lands_on(self, trunk: sip_pb.SIPInboundTrunkInfo | None, call: CallFacts) -> bool:
        if trunk is None:
            return True
        decision = self.index.match_trunk(call)
        return decision.error is None and decision.value is trunk
