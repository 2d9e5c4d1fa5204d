"""Trunk problems LiveKit only shows at call time or refuses with a terse message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from livekit.protocol import sip as sip_pb

from sipconf.checks.base import CheckBase, label
from sipconf.checks.callspace import OTHER_CALLED, OTHER_CALLER, CallSpace, sources
from sipconf.checks.numbers import normalised
from sipconf.checks.prepared import Prepared
from sipconf.issues import Issue
from sipconf.model import DesiredState
from sipconf.routing.call import CallFacts
from sipconf.routing.trunks import match_trunk, validate_trunks
from sipconf.validation.destination import validate_destination

def _shared_called(a: sip_pb.SIPInboundTrunkInfo, b: sip_pb.SIPInboundTrunkInfo) -> list[str]:
    """Called numbers both trunks claim at the same level (a specific number beats a default
    trunk, so a specific and a default trunk never collide). Trunk matching compares numbers
    raw or normalised, which is comparing their normalised forms."""
    if not a.numbers and not b.numbers:
        return [OTHER_CALLED]
    theirs = {normalised(m) for m in b.numbers}
    return [n for n in a.numbers if normalised(n) in theirs]


def overlap_candidates(trunks: list[sip_pb.SIPInboundTrunkInfo]) -> list[tuple[int, int]]:
    """The pairs (i < j) of trunks that may both accept one call and that LiveKit does not
    refuse together, found by grouping instead of trying every pair.

    Both must claim the called number at the same level: the same normalised number, or no
    numbers at all. Both must let the caller in: one of them has no allowed_numbers, or their
    lists share a caller. Two trunks with no allowed_numbers on one number, or whose lists share
    a caller, share a (number, caller) key, which LiveKit refuses unless the two have one id.
    """
    open_callers: dict[str, list[int]] = {}  # number ("" = default trunk) -> trunks without allowed_numbers
    listed: dict[str, list[int]] = {}  # number -> trunks with allowed_numbers
    same_key: dict[tuple[str, str, str], list[int]] = {}  # (number, caller, id) -> trunks
    for index, trunk in enumerate(trunks):
        numbers = dict.fromkeys(map(normalised, trunk.numbers)) if trunk.numbers else ("",)
        callers = dict.fromkeys(map(normalised, trunk.allowed_numbers)) or ("",)
        for number in numbers:
            (listed if trunk.allowed_numbers else open_callers).setdefault(number, []).append(index)
            for caller in callers:
                same_key.setdefault((number, caller, trunk.sip_trunk_id), []).append(index)
    pairs: set[tuple[int, int]] = set()
    for number, members in open_callers.items():
        pairs.update((min(a, b), max(a, b)) for a in members for b in listed.get(number, ()))
    for members in same_key.values():
        pairs.update((a, b) for position, a in enumerate(members) for b in members[position + 1:])
    return sorted(pairs)


@dataclass(frozen=True)
class InboundTrunksOverlap(CheckBase):
    """A trunk with allowed_numbers and one without, on the same number, pass LiveKit's
    validation although listed callers then hit "Multiple SIP Trunks matched" when routed.

    Each pair LiveKit accepts is tried with witness calls (callers and sources each trunk lets
    in); a witness the engine refuses both for the pair and for the whole trunk list is reported.
    Only pairs that can share a call are tried (`overlap_candidates`); the whole trunk list is
    matched through the routing index (`CallSpace.index`).
    """

    code: str = "inbound-trunks-overlap"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        pairs = Prepared.of(state).inbound
        space = CallSpace([m for _, m in pairs], [])
        for i, j in overlap_candidates([m for _, m in pairs]):
            (obj_a, a), (obj_b, b) = pairs[i], pairs[j]
            if validate_trunks([a, b]) is not None:
                continue  # refused at create time: livekit-trunk-conflict reports it
            witness = self._witness(a, b, space)
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
    def _witness(a, b, space: CallSpace):
        callers = list(dict.fromkeys([*a.allowed_numbers, *b.allowed_numbers, OTHER_CALLER]))
        for to_user in _shared_called(a, b):
            for from_user in callers:
                for src_ip, host in sources(a, b):
                    call = CallFacts(from_user=from_user, to_user=to_user, src_ip=src_ip, from_host=host)
                    pair = match_trunk([a, b], call)
                    if pair.error is not None and space.index.match_trunk(call).error is not None:
                        return call, pair.error.message
        return None


@dataclass(frozen=True)
class OutboundTrunkNoNumbers(CheckBase):
    """LiveKit refuses an outbound trunk without numbers (its caller ids)."""

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
    """A destination country LiveKit refuses when a call is placed through the trunk."""

    code: str = "outbound-destination-country"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        for obj in state.outbound:
            country = obj.message.destination_country
            problem = validate_destination(sip_pb.Destination(country=country)) if country else None
            if problem is not None:
                yield self.issue(obj, f"destination_country {country!r}: {problem}", "destination_country")
