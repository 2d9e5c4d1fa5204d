"""Inbound trunk matching (docs/livekit.md#trunk-matching) and trunk conflict validation
(docs/livekit.md#trunk-conflicts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.errors import FAILED_PRECONDITION, INVALID_ARGUMENT, LiveKitError
from sipconf.sip.gostr import quote, quote_list
from sipconf.routing.masks import match_addr_masks
from sipconf.routing.numbers import normalize_number, same_number
from sipconf.routing.trace import Decision, new_trace

MatchType = Literal["EMPTY", "NONE", "DEFAULT", "SPECIFIC"]


@dataclass(frozen=True)
class TrunkMatch:
    """The matched trunk (None when none matched) and how it matched."""

    trunk: sip.SIPInboundTrunkInfo | None
    match_type: MatchType
    default_trunk_count: int


def trunk_label(trunk: sip.SIPInboundTrunkInfo) -> str:
    return trunk.sip_trunk_id or trunk.name or "<new>"


class Screen(Protocol):
    """The three tests trunk matching puts each trunk to, for one call, answered from
    allowlists and numbers compiled once (the routing index) instead of read and normalised
    per trunk and call. Each answer must equal the literal test's."""

    def admits_caller(self, trunk: sip.SIPInboundTrunkInfo) -> bool:
        """The caller passes `allowed_numbers` (step 1)."""

    def admits_source(self, trunk: sip.SIPInboundTrunkInfo) -> bool:
        """The source address or From host passes `allowed_addresses` (step 2)."""

    def lists_called(self, trunk: sip.SIPInboundTrunkInfo) -> bool:
        """The trunk lists the called number (step 4)."""


def match_trunk(
    trunks: Sequence[sip.SIPInboundTrunkInfo],
    call: CallFacts,
    with_trace: bool = True,
    screen: Screen | None = None,
) -> Decision[TrunkMatch]:
    """Pick the inbound trunk for a call: a specific number beats the default (wildcard) trunk.

    docs/livekit.md#trunk-matching: "Filters run before the default/specific split, so a filtered default neither
    counts nor conflicts. On error no trunk is returned." Without `with_trace` no reason
    is formatted and the trace is empty. With a `screen`, its answers replace the literal
    tests; only the trunks listing the called number are searched for the spelling that
    matched.
    """
    trace = new_trace(with_trace)
    specific: sip.SIPInboundTrunkInfo | None = None
    default: sip.SIPInboundTrunkInfo | None = None
    defaults = 0
    if not trunks:
        trace.append("no inbound trunks are defined")
    for trunk in trunks:
        name = trunk_label(trunk)
        # 1. allowed_numbers (callers), raw or normalised.
        if not (screen.admits_caller(trunk) if screen is not None else _admits_caller(trunk, call)):
            if with_trace:
                trace.append(f"trunk {name} dropped: caller {call.from_user} not in allowed_numbers")
            continue
        # 2. allowed_addresses (docs/livekit.md#address-masks).
        admitted = screen.admits_source(trunk) if screen is not None else _admits_source(trunk, call)
        if not admitted:
            if with_trace:
                trace.append(
                    f"trunk {name} dropped: source {call.src_ip or '<none>'} / host {call.from_host or '<none>'}"
                    " not in allowed_addresses"
                )
            continue
        # 3. no numbers: a default (wildcard) trunk.
        if not trunk.numbers:
            defaults += 1
            default = trunk
            if with_trace:
                trace.append(f"trunk {name} kept as a default trunk (no numbers)")
            continue
        # 4. the first equal number makes it specific; later numbers are ignored.
        hit = None
        if screen is None or screen.lists_called(trunk):
            hit = next((n for n in trunk.numbers if same_number(n, call.to_user)), None)
        if hit is None:
            if with_trace:
                trace.append(f"trunk {name} dropped: called number {call.to_user} not in numbers")
            continue
        if specific is not None:
            message = f"Multiple SIP Trunks matched for {quote(call.to_user)}"
            if with_trace:
                trace.append(f"trunk {name} also lists {hit}, like trunk {trunk_label(specific)}: conflict")
            return Decision(None, LiveKitError(FAILED_PRECONDITION, message), tuple(trace))
        specific = trunk
        if with_trace:
            trace.append(f"trunk {name} matches called number {call.to_user} (listed as {hit})")
    if specific is not None:
        if with_trace:
            trace.append(f"trunk {trunk_label(specific)} chosen: a specific number beats default trunks")
        return Decision(TrunkMatch(specific, "SPECIFIC", defaults), None, tuple(trace))
    if defaults > 1:
        message = f"Multiple default SIP Trunks matched for {quote(call.to_user)}"
        if with_trace:
            trace.append(f"{defaults} default trunks match and none lists the number: conflict")
        return Decision(None, LiveKitError(FAILED_PRECONDITION, message), tuple(trace))
    if default is not None:
        if with_trace:
            trace.append(f"trunk {trunk_label(default)} chosen as the only default trunk")
        return Decision(TrunkMatch(default, "DEFAULT", 1), None, tuple(trace))
    kind: MatchType = "EMPTY" if not trunks else "NONE"
    if trunks:
        trace.append("no trunk matched")
    return Decision(TrunkMatch(None, kind, 0), None, tuple(trace))


def _admits_caller(trunk: sip.SIPInboundTrunkInfo, call: CallFacts) -> bool:
    return not trunk.allowed_numbers or any(same_number(n, call.from_user) for n in trunk.allowed_numbers)


def _admits_source(trunk: sip.SIPInboundTrunkInfo, call: CallFacts) -> bool:
    return match_addr_masks(call.src_ip, call.from_host, trunk.allowed_addresses)


def validate_trunks(trunks: Sequence[sip.SIPInboundTrunkInfo]) -> LiveKitError | None:
    """LiveKit's create/update-time inbound trunk conflict check (docs/livekit.md#trunk-conflicts);
    None when valid.

    Buckets by normalised called number ("" for none), then by normalised allowed caller
    ("" for none). A key owned by a trunk with a different id is a conflict; equal ids
    (even both empty) never conflict.
    """
    owners: dict[str, dict[str, sip.SIPInboundTrunkInfo]] = {}
    for trunk in trunks:
        called = list(dict.fromkeys(normalize_number(n) for n in trunk.numbers)) or [""]
        for number in called:
            bucket = owners.setdefault(number, {})
            callers = trunk.allowed_numbers or [""]
            for raw in dict.fromkeys(callers):
                key = normalize_number(raw)
                owner = bucket.get(key)
                if owner is not None and owner.sip_trunk_id != trunk.sip_trunk_id:
                    return LiveKitError(INVALID_ARGUMENT, _conflict_message(trunk, owner, raw))
                bucket[key] = trunk
    return None


def _conflict_message(later: sip.SIPInboundTrunkInfo, earlier: sip.SIPInboundTrunkInfo, allowed: str) -> str:
    numbers = quote_list(list(later.numbers)) if later.numbers else "<any>"
    head = (
        f"Conflicting inbound SIP Trunks: {quote(later.sip_trunk_id or '<new>')} and "
        f"{quote(earlier.sip_trunk_id or '<new>')}, using the same number(s) {numbers}"
    )
    if not later.allowed_numbers:
        return head + " without AllowedNumbers set"
    return head + f" and AllowedNumber {quote(allowed)}"
