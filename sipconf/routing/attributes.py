"""Participant attributes the SIP service adds after evaluation, and the way back to headers
(docs/livekit.md#attributes)."""

from __future__ import annotations

from typing import Iterable, Mapping

from livekit.protocol import sip

CALL_TAG, CALL_ID_FULL, CALL_STATUS = "sip.callTag", "sip.callIDFull", "sip.callStatus"

# docs/livekit.md#attributes: "always copied" provider headers -> attributes, in this fixed order.
PROVIDER_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Twilio-AccountSid", "sip.twilio.accountSid"),
    ("X-Twilio-CallSid", "sip.twilio.callSid"),
    ("X-call_leg_id", "sip.telnyx.callLegID"),
    ("X-call_session_id", "sip.telnyx.callSessionID"),
    ("X-Amzn-ConnectContactId", "sip.amazon.contactId"),
    ("X-Amzn-ConnectInitialContactId", "sip.amazon.initialContactId"),
    ("X-Amzn-SourceAccount", "sip.amazon.sourceAccount"),
    ("X-Amzn-SourceArn", "sip.amazon.sourceArn"),
    ("X-Amzn-TargetArn", "sip.amazon.targetArn"),
    ("X-Lk-Test-Id", "lktest.id"),
)


def first_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value of the first header called `name` (case-insensitive), or None."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def included_headers(headers: Iterable[tuple[str, str]], mode: int) -> dict[str, str]:
    """`include_headers`: `sip.h.<lower-case name>` for x- headers or all; last one wins."""
    out: dict[str, str] = {}
    if mode == sip.SIP_NO_HEADERS:
        return out
    for name, value in headers:
        lower = name.lower()
        if mode == sip.SIP_ALL_HEADERS or lower.startswith("x-"):
            out[f"sip.h.{lower}"] = value
    return out


def _provider(attrs: dict[str, str], headers: tuple[tuple[str, str], ...]) -> None:
    for header, attribute in PROVIDER_HEADERS:
        value = first_header(headers, header)
        if value is not None:
            attrs[attribute] = value


def sip_attributes(
    base: Mapping[str, str],
    trunk: sip.SIPInboundTrunkInfo | None,
    headers: Iterable[tuple[str, str]],
    *,
    from_tag: str,
    call_id_full: str,
    call_status: str,
) -> dict[str, str]:
    """The participant's attributes: the evaluation's `base`, then what the SIP service overlays.

    docs/livekit.md#attributes: "each overwriting the previous: include_headers (sip.h.*), the fixed
    provider mappings, the trunk headers_to_attributes, sip.callTag (From tag), sip.callIDFull; then
    again the provider mappings, sip.callTag, sip.callIDFull, and sip.callStatus". So a
    headers_to_attributes target may overwrite `sip.*` values from the rule, but not the
    provider, tag, Call-ID or status attributes.
    """
    headers = tuple(headers)
    attrs = dict(base)
    if trunk is not None:
        attrs.update(included_headers(headers, trunk.include_headers))
    _provider(attrs, headers)
    if trunk is not None:
        for header, attribute in trunk.headers_to_attributes.items():
            value = first_header(headers, header)
            if value is not None:
                attrs[attribute] = value
    attrs[CALL_TAG] = from_tag
    attrs[CALL_ID_FULL] = call_id_full
    _provider(attrs, headers)
    attrs[CALL_TAG] = from_tag
    attrs[CALL_ID_FULL] = call_id_full
    attrs[CALL_STATUS] = call_status
    return attrs


def headers_from_attributes(attributes_to_headers: Mapping[str, str], attributes: Mapping[str, str]) -> dict[str, str]:
    """`attributes_to_headers` {attribute -> header}: present attributes become headers of
    LiveKit's 200 OK (inbound), BYE, CANCEL and REFER (docs/livekit.md#attributes)."""
    return {header: attributes[attr] for attr, header in attributes_to_headers.items() if attr in attributes}
