"""The deprecated `SIPTrunkInfo` and legacy create requests (docs/livekit.md#trunks and
#validate-objects).

Only the fields both shapes share survive a conversion; everything else is lost, so a
round trip is lossless only for trunks with at most one number and only these fields.
"""

from __future__ import annotations

from livekit.protocol import sip

REGEX_REFUSED = "Trunks with InboundNumbersRegex are deprecated. Use InboundNumbers instead."

_LEGACY_RULE_FIELDS = (
    "rule", "trunk_ids", "inbound_numbers", "hide_phone_number", "name", "metadata",
    "attributes", "room_preset", "room_config",
)


def inbound_to_legacy(t: sip.SIPInboundTrunkInfo) -> sip.SIPTrunkInfo:
    """Inbound trunk as a legacy `TRUNK_INBOUND` trunk; only the first number survives."""
    return sip.SIPTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        kind=sip.SIPTrunkInfo.TRUNK_INBOUND,
        name=t.name,
        metadata=t.metadata,
        outbound_number=t.numbers[0] if t.numbers else "",
        inbound_addresses=list(t.allowed_addresses),
        inbound_numbers=list(t.allowed_numbers),
        inbound_username=t.auth_username,
        inbound_password=t.auth_password,
    )


def outbound_to_legacy(t: sip.SIPOutboundTrunkInfo) -> sip.SIPTrunkInfo:
    """Outbound trunk as a legacy `TRUNK_OUTBOUND` trunk; only the first number survives."""
    return sip.SIPTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        kind=sip.SIPTrunkInfo.TRUNK_OUTBOUND,
        name=t.name,
        metadata=t.metadata,
        outbound_address=t.address,
        transport=t.transport,
        outbound_number=t.numbers[0] if t.numbers else "",
        outbound_username=t.auth_username,
        outbound_password=t.auth_password,
    )


def legacy_to_inbound(t: sip.SIPTrunkInfo) -> sip.SIPInboundTrunkInfo | None:
    """The inbound half of a legacy trunk (None for `TRUNK_OUTBOUND`).

    `inbound_numbers_regex` is dropped silently, as LiveKit does.
    """
    if t.kind == sip.SIPTrunkInfo.TRUNK_OUTBOUND:
        return None
    return sip.SIPInboundTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        name=t.name,
        metadata=t.metadata,
        numbers=[t.outbound_number] if t.outbound_number else [],
        allowed_addresses=list(t.inbound_addresses),
        allowed_numbers=list(t.inbound_numbers),
        auth_username=t.inbound_username,
        auth_password=t.inbound_password,
    )


def legacy_to_outbound(t: sip.SIPTrunkInfo) -> sip.SIPOutboundTrunkInfo | None:
    """The outbound half of a legacy trunk (None for `TRUNK_INBOUND`)."""
    if t.kind == sip.SIPTrunkInfo.TRUNK_INBOUND:
        return None
    return sip.SIPOutboundTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        name=t.name,
        metadata=t.metadata,
        address=t.outbound_address,
        transport=t.transport,
        numbers=[t.outbound_number] if t.outbound_number else [],
        auth_username=t.outbound_username,
        auth_password=t.outbound_password,
    )


def legacy_create_problem(req: sip.CreateSIPTrunkRequest) -> str | None:
    """Why LiveKit refuses to create this legacy trunk, or None."""
    if req.inbound_numbers_regex:
        return REGEX_REFUSED
    return None


def rule_from_create_request(req: sip.CreateSIPDispatchRuleRequest) -> sip.SIPDispatchRuleInfo:
    """The rule a create request describes: `dispatch_rule`, else its legacy top-level fields."""
    out = sip.SIPDispatchRuleInfo()
    if req.HasField("dispatch_rule"):
        out.CopyFrom(req.dispatch_rule)
        return out
    for field in _LEGACY_RULE_FIELDS:
        value = getattr(req, field)
        if field in ("rule", "room_config"):
            if req.HasField(field):
                getattr(out, field).CopyFrom(value)
        elif field in ("trunk_ids", "inbound_numbers"):
            getattr(out, field).extend(value)
        elif field == "attributes":
            out.attributes.update(value)
        else:
            setattr(out, field, value)
    return out
