"""SipUri: sipgo's parse and render rules (docs/livekit.md#outbound-uris)."""

from __future__ import annotations

import pytest

from sipconf.sip.sipuri import (
    SipUri,
    find_param,
    join_host_port,
    render_host,
    split_host_port,
    split_ipv6_reference,
)


@pytest.mark.parametrize(
    "raw",
    [
        "sip:222@sip.test.com",
        "sip:222@sip.test.com;transport=tcp",
        "sips:alice@example.com:5061",
        "sip:a:secret@[2001:db8::1]:5060;transport=udp;lr?X-A=1&Subject=hi",
        "sip:example.com",
        'sip:u@h;x="a;b"',
        "tel:+15551234567;ext=12",
    ],
)
def test_round_trip(raw: str) -> None:
    assert str(SipUri.parse(raw)) == raw
    assert bytes(SipUri.parse(raw)) == raw.encode()


def test_fields_of_a_full_uri() -> None:
    u = SipUri.parse("sip:a:pw@[::1]:5060;transport=udp;lr?X-A=1")
    assert (u.scheme, u.user, u.password, u.host, u.port) == ("sip", "a", "pw", "::1", 5060)
    assert u.params == (("transport", "udp"), ("lr", ""))
    assert u.headers == (("X-A", "1"),)


def test_scheme_is_lower_cased_and_only_sips_and_tel_are_kept() -> None:
    assert SipUri.parse("SIPS:u@h").scheme == "sips"
    assert str(SipUri.parse("http:u@h")) == "sip:u@h"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", "empty URI"),
        ("example.com", "missing protocol scheme"),
        ("<sip:111@sip.livekit.test>;tag=AAA", "invalid uri scheme '<sip'"),
        ("sip:a@h:abc", "invalid port 'abc'"),
        ("sip:a@[::1", "IPv6 no closing bracket"),
        ('sip:a@h;x="open', "unterminated quoted parameter value"),
    ],
)
def test_parse_errors(raw: str, error: str) -> None:
    with pytest.raises(ValueError) as exc:
        SipUri.parse(raw)
    assert str(exc.value) == error


def test_transport_replaced_in_place() -> None:
    u = SipUri.parse("sip:a@h;transport=tcp;lr").with_param("transport", "tls")
    assert str(u) == "sip:a@h;transport=tls;lr"
    assert str(SipUri(user="a", host="h").with_param("transport", "udp")) == "sip:a@h;transport=udp"


def test_ipv6_hosts_are_bracketed_and_port_zero_omitted() -> None:
    assert str(SipUri(user="a", host="::1", port=0)) == "sip:a@[::1]"
    assert render_host("[::1]") == "[::1]"


@pytest.mark.parametrize(
    ("hostport", "expected"),
    [("h:5060", ("h", "5060")), ("[::1]:5060", ("::1", "5060")), ("h:", ("h", ""))],
)
def test_split_host_port(hostport: str, expected: tuple[str, str]) -> None:
    assert split_host_port(hostport) == expected


@pytest.mark.parametrize(
    ("hostport", "error"),
    [("h", "missing port in address"), ("::1", "too many colons in address"), ("[::1]", "missing port in address")],
)
def test_split_host_port_errors(hostport: str, error: str) -> None:
    with pytest.raises(ValueError) as exc:
        split_host_port(hostport)
    assert str(exc.value) == error


def test_find_param_reads_a_flag_as_empty_whichever_way_it_is_stored() -> None:
    params = [("Transport", "tcp"), ("lr", None), ("ob", ""), ("transport", "udp")]
    assert [find_param(params, n) for n in ("transport", "LR", "ob", "maddr")] == ["tcp", "", "", None]


@pytest.mark.parametrize(
    ("text", "expected"), [("[::1]:5060", ("::1", ":5060")), ("[::1]", ("::1", "")), ("[::1];lr", ("::1", ";lr"))]
)
def test_split_ipv6_reference(text: str, expected: tuple[str, str]) -> None:
    assert split_ipv6_reference(text) == expected


def test_split_ipv6_reference_without_closing_bracket() -> None:
    with pytest.raises(ValueError) as exc:
        split_ipv6_reference("[::1")
    assert str(exc.value) == "missing ']' in address"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [("h", None, "h"), ("h", 0, "h:0"), ("::1", 5060, "[::1]:5060"), ("[::1]", None, "[::1]")],
)
def test_join_host_port(host: str, port: int | None, expected: str) -> None:
    assert join_host_port(host, port) == expected
