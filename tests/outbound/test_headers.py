"""build_outbound_headers (docs/livekit.md#outbound-uris): the branches the public vectors leave
out."""

from __future__ import annotations

import pytest
from livekit.protocol.sip import SIPNamedDest, SIPRequestDest, SIPTransport, SIPUri

from sipconf.routing.errors import LiveKitError
from sipconf.outbound.headers import OutboundRequest, build_outbound_headers

LEGACY = dict(address="sip.test.com", number="111", call_to="222")


def build(**fields) -> tuple[str, str, str]:
    return build_outbound_headers(OutboundRequest(**fields), "sip.default.test").rendered()


def error_of(**fields) -> LiveKitError:
    with pytest.raises(LiveKitError) as exc:
        build_outbound_headers(OutboundRequest(**fields), "sip.default.test")
    assert exc.value.code == "invalid_argument"
    return exc.value


def test_legacy() -> None:
    assert build(**LEGACY) == (
        "sip:222@sip.test.com",
        'From: "111" <sip:111@sip.default.test>',
        "To: <sip:222@sip.test.com>",
    )


def test_legacy_port_ipv6_and_hostname() -> None:
    uri, from_, to = build(address="[2001:db8::1]:5080", number="111", call_to="222", hostname="lk.example")
    assert uri == "sip:222@[2001:db8::1]:5080"
    assert from_ == 'From: "111" <sip:111@lk.example>'


def test_empty_display_name_is_kept_empty() -> None:
    assert build(**LEGACY, display_name="")[1] == "From: <sip:111@sip.default.test>"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "invalid request URI: number must be set"),
        ({"call_to": "a@b", "address": "h"}, "invalid request URI: should be a phone number or SIP user, not a full SIP URI"),
        ({"call_to": "222"}, "invalid request URI: address must be set"),
        ({"call_to": "222", "address": "sip:h"}, "invalid request URI: address must be a hostname without 'sip:' prefix"),
        ({"call_to": "222", "address": "h;transport=tcp"},
         "invalid request URI: legacy address must not contain parameters; use transport field"),
        ({"call_to": "222", "address": "h;lr"}, "invalid request URI: legacy address must not contain parameters"),
        ({"call_to": "222", "address": "h:50x"}, 'invalid request URI: invalid port in hostname: "50x"'),
        ({**LEGACY, "sip_request_uri": SIPRequestDest(raw="<sip:a@b>;x")}, "invalid request URI: invalid request URI"),
        ({**LEGACY, "sip_request_uri": SIPRequestDest()}, "invalid request URI: invalid request URI type"),
        ({**LEGACY, "sip_request_uri": SIPRequestDest(values=SIPUri(host="h"))},
         "invalid request URI: username or number must be set"),
        ({**LEGACY, "sip_request_uri": SIPRequestDest(values=SIPUri(user="u"))}, "invalid request URI: host or ip must be set"),
        ({**LEGACY, "sip_request_uri": SIPRequestDest(values=SIPUri(user="u", host="h:5060"))},
         "invalid request URI: host or ip must not contain port"),
        ({**LEGACY, "transport": SIPTransport.SIP_TRANSPORT_UDP,
          "sip_request_uri": SIPRequestDest(values=SIPUri(user="u", host="h", transport=SIPTransport.SIP_TRANSPORT_TCP))},
         "invalid request URI: different transports specified: SIP_TRANSPORT_UDP vs SIP_TRANSPORT_TCP"),
        ({"address": "h", "number": "111", "sip_request_uri": SIPRequestDest(raw="sip:a@b")},
         "invalid To header: number must be set"),
        ({"address": "h", "call_to": "222"}, "invalid From header: number must be set"),
        ({**LEGACY, "sip_from_header": SIPNamedDest(raw="x")}, "invalid From header: invalid request URI"),
        ({**LEGACY, "sip_to_header": SIPNamedDest(display_name="x")}, "invalid To header: cannot use both CallTo and SipToHeader"),
        ({**LEGACY, "to_user_override": "3 33"},
         "invalid To header: to user override should be a phone number or SIP user, not a full SIP URI"),
    ],
)
def test_errors(fields: dict, message: str) -> None:
    assert error_of(**fields).message == message


def test_values_uri_takes_its_transport_when_request_is_auto() -> None:
    uri, _, _ = build(**LEGACY, sip_request_uri=SIPRequestDest(
        values=SIPUri(user="u", ip="10.0.0.1", port=5062, transport=SIPTransport.SIP_TRANSPORT_TCP)))
    assert uri == "sip:u@10.0.0.1:5062;transport=tcp"


def test_from_header_display_wins_over_display_name() -> None:
    _, from_, _ = build(**LEGACY, display_name="LK", sip_from_header=SIPNamedDest(raw="sips:me@example.com"))
    assert from_ == "From: <sips:me@example.com>"


def test_to_user_override_replaces_user_of_a_to_header() -> None:
    _, _, to = build(address="h", number="1", sip_request_uri=SIPRequestDest(raw="sip:9@h"),
                     sip_to_header=SIPNamedDest(display_name="Bob", raw="<sip:333@other.test;user=phone>"),
                     to_user_override="+444")
    assert to == 'To: "Bob" <sip:+444@other.test;user=phone>'


def test_from_json_reads_enum_names_and_presence() -> None:
    req = OutboundRequest.from_json({"transport": "SIP_TRANSPORT_TLS", "display_name": "",
                                     "sip_to_header": {"raw": "sip:a@b"}})
    assert req.transport == SIPTransport.SIP_TRANSPORT_TLS
    assert req.display_name == ""
    assert req.sip_to_header.raw == "sip:a@b"
    assert OutboundRequest.from_json({}).display_name is None
