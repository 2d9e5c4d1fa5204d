"""Witness calls: a small set of calls that stands for every call a dispatch rule could take.

Routing only compares numbers for equality, so two called numbers listed by exactly the same
trunks and rules route alike; one representative per such class (plus one number nobody
lists) covers all calls. The same holds for callers, and for sources (one address inside each
allowlist entry plus one outside all of them). Every witness is routed by the engine itself;
nothing here re-implements a routing rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from livekit.protocol import sip as pb

from sipconf.routing.call import CallFacts
from sipconf.routing.masks import parse_addr
from sipconf.routing.numbers import same_number
from sipconf.routing.trunks import match_trunk


# Stand-ins for "any other" caller, called number and source: documentation ranges that no
# spec lists (RFC 5737 TEST-NET-1 for the address).
OTHER_CALLER = "+19995550100"
OTHER_CALLED = "+19995550199"
OTHER_IP = "192.0.2.1"


def sources(*trunks: pb.SIPInboundTrunkInfo) -> list[tuple[str, str]]:
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
    trunk: pb.SIPInboundTrunkInfo | None
    call: CallFacts


def _representatives(values: list[str], signature) -> list[str]:
    seen: dict[tuple, str] = {}
    for value in dict.fromkeys(values):
        seen.setdefault(signature(value), value)
    return list(seen.values())


@dataclass(frozen=True)
class CallSpace:
    """The inbound trunks and (conflict-free) rules witness calls are routed against."""

    trunks: Sequence[pb.SIPInboundTrunkInfo]
    rules: Sequence[pb.SIPDispatchRuleInfo]

    @classmethod
    def of(cls, prepared, accepted) -> "CallSpace":
        """The prepared inbound trunks and the accepted rules, the latter sorted by id as the
        server lists them (3.4), so full ties break as they do when routed."""
        rules = sorted((m for _, m in accepted), key=lambda r: r.sip_dispatch_rule_id)
        return cls([m for _, m in prepared.inbound], rules)

    def _called_signature(self, value: str) -> tuple:
        return tuple(value in r.numbers for r in self.rules) + tuple(
            any(same_number(value, n) for n in t.numbers) for t in self.trunks
        )

    def _caller_signature(self, value: str) -> tuple:
        return tuple(value in r.inbound_numbers for r in self.rules) + tuple(
            any(same_number(value, n) for n in t.allowed_numbers) for t in self.trunks
        )

    def candidate_trunks(self, rule: pb.SIPDispatchRuleInfo) -> list[pb.SIPInboundTrunkInfo | None]:
        """The trunks a rule can take calls from. With no inbound trunk in the spec, calls come
        through trunks sipconf does not see, which routing can only model as "no trunk"."""
        if not self.trunks:
            return [] if rule.trunk_ids else [None]
        if rule.trunk_ids:
            return [t for t in self.trunks if t.sip_trunk_id in rule.trunk_ids]
        return list(self.trunks)

    def witnesses(self, rule: pb.SIPDispatchRuleInfo) -> Iterator[Witness]:
        """Calls that pass the rule's own number filters and land on one of its trunks."""
        every_called = [n for t in self.trunks for n in t.numbers] + [n for r in self.rules for n in r.numbers]
        every_caller = [n for t in self.trunks for n in t.allowed_numbers] + [
            n for r in self.rules for n in r.inbound_numbers
        ]
        for trunk in self.candidate_trunks(rule):
            called = list(rule.numbers) or (list(trunk.numbers) if trunk and trunk.numbers else every_called)
            callers = list(rule.inbound_numbers) or (
                list(trunk.allowed_numbers) if trunk and trunk.allowed_numbers else every_caller
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

    def _lands_on(self, trunk: pb.SIPInboundTrunkInfo | None, call: CallFacts) -> bool:
        if trunk is None:
            return True
        decision = match_trunk(self.trunks, call)
        return decision.error is None and decision.value.trunk is trunk
