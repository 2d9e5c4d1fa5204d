"""Trunk problems LiveKit only shows at call time or refuses with a terse message."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable

from livekit.protocol import sip as sip_pb

from sipconf.checks.base import CheckBase, label
from sipconf.checks.callspace import OTHER_CALLED, OTHER_CALLER, sources
from sipconf.checks.prepared import Prepared
from sipconf.issues import Issue
from sipconf.model import DesiredState
from sipconf.routing.call import CallFacts
from sipconf.validation.destination import validate_destination
from sipconf.routing.numbers import same_number
from sipconf.routing.trunks import match_trunk, validate_trunks

def _shared_called(a: sip_pb.SIPInboundTrunkInfo, b: sip_pb.SIPInboundTrunkInfo) -> list[str]:
    """Called numbers both trunks claim at the same level (a specific number beats a default
    trunk, so a specific and a default trunk never collide)."""
    if not a.numbers and not b.numbers:
        return [OTHER_CALLED]
    return [n for n in a.numbers if any(same_number(n, m) for m in b.numbers)]


@dataclass(frozen=True)
class InboundTrunksOverlap(CheckBase):
    """docs/livekit.md#trunk-conflicts: "A trunk with allowed_numbers and one without, on the same
    number, pass validation although listed callers then hit 'Multiple SIP Trunks matched' when
    routed."

    Each pair LiveKit accepts is tried with witness calls (callers and sources each trunk lets
    in); a witness the engine refuses both for the pair and for the whole trunk list is reported.
    """

    code: str = "inbound-trunks-overlap"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        pairs = Prepared(state).inbound
        everything = [m for _, m in pairs]
        for (obj_a, a), (obj_b, b) in combinations(pairs, 2):
            if validate_trunks([a, b]) is not None:
                continue  # refused at create time: livekit-trunk-conflict reports it
            witness = self._witness(a, b, everything)
            if witness is not None:
                call, error = witness
                src = f" from host {call.from_host}" if call.from_host else f" from {call.src_ip}"
                yield self.issue(
                    obj_b,
                    f'{label(obj_a)} and {label(obj_b)} both accept a call to {call.to_user} from caller'
                    f" {call.from_user}{src}: LiveKit answers 503 Try again later ({error});"
                    " give them distinct numbers or non-overlapping allowed_numbers/allowed_addresses",
                    "numbers",
                )

    @staticmethod
    def _witness(a, b, everything):
        callers = list(dict.fromkeys([*a.allowed_numbers, *b.allowed_numbers, OTHER_CALLER]))
        for to_user in _shared_called(a, b):
            for from_user in callers:
                for src_ip, host in sources(a, b):
                    call = CallFacts(from_user=from_user, to_user=to_user, src_ip=src_ip, from_host=host)
                    pair = match_trunk([a, b], call)
                    if pair.error is not None and match_trunk(everything, call).error is not None:
                        return call, pair.error.message
        return None


@dataclass(frozen=True)
class OutboundTrunkNoNumbers(CheckBase):
    """docs/livekit.md#validate-objects: LiveKit refuses an outbound trunk without numbers (its
    caller ids)."""

    code: str = "outbound-trunk-no-numbers"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        for obj in state.outbound:
            if not obj.message.numbers:
                yield self.issue(
                    obj,
                    f"no trunk numbers specified: {label(obj)} needs the caller ids it may use; list them under"
                    " outbound.numbers",
                )


@dataclass(frozen=True)
class OutboundDestinationCountry(CheckBase):
    """docs/livekit.md#destination: a destination country LiveKit refuses when a call is placed
    through the trunk."""

    code: str = "outbound-destination-country"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        for obj in state.outbound:
            country = obj.message.destination_country
            problem = validate_destination(sip_pb.Destination(country=country)) if country else None
            if problem is not None:
                yield self.issue(obj, f"destination_country {country!r}: {problem}", "destination_country")
