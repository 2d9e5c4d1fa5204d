"""Destinations, trusted proxies, and what a log line may carry (pure: no sockets)."""

from __future__ import annotations

import logging
import socket

import pytest

from sipconf.bridge.addresses import AddressError, TrustedProxies, destination, port_number
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.log_lines import Throttle, printable
from sipconf.bridge.transport import response_address
from sipconf.sip.headers import Via


@pytest.mark.parametrize(("host", "port", "expected"), [
    ("127.0.0.1", 5060, ("127.0.0.1", 5060)),
    ("127.200.0.9", "65535", ("127.200.0.9", 65535)),
    ("[::1]", 1, ("::1", 1)),
    ("::1", 5070, ("::1", 5070)),
    ("localhost", 5060, ("127.0.0.1", 5060)),
])
def test_loopback_ip_literals_with_a_real_port_are_destinations(host, port, expected):
    assert destination(host, port) == expected


@pytest.mark.parametrize(("host", "port", "reason"), [
    ("127.0.0.1", 70000, "not a port number (1-65535)"),
    ("127.0.0.1", 0, "not a port number (1-65535)"),
    ("127.0.0.1", -1, "not a port number (1-65535)"),
    ("127.0.0.1", "99999999999999999999999", "not a port number (1-65535)"),
    ("127.0.0.1", "\uff16\uff15", "not a port number (1-65535)"),  # fullwidth digits are digits to str.isdigit
    ("127.0.0.1", None, "not a port number (1-65535)"),
    ("127.0.0.1", True, "not a port number (1-65535)"),
    ("127.0.0.1\x00evil", 5060, "not an IP address (host names are never resolved)"),
    ("not-an-ip", 5060, "not an IP address (host names are never resolved)"),
    ("ss1.example.com", 5060, "not an IP address (host names are never resolved)"),
    ("::1%eth0", 5060, "not an IP address (host names are never resolved)"),
    ("fe80::1%\x00", 5060, "not an IP address (host names are never resolved)"),
    ("[::1:zz]", 5060, "not an IP address (host names are never resolved)"),
    ("", 5060, "not an IP address (host names are never resolved)"),
    ("192.0.2.1", 5060, "only loopback IP addresses are reachable"),
    ("0.0.0.0", 5060, "only loopback IP addresses are reachable"),
    ("255.255.255.255", 5060, "only loopback IP addresses are reachable"),
    ("[2001:db8::1]", 5060, "only loopback IP addresses are reachable"),
])
def test_anything_else_is_refused_with_one_line(host, port, reason):
    with pytest.raises(AddressError) as info:
        destination(host, port)
    assert str(info.value) == reason


def test_allow_external_lifts_only_the_loopback_rule():
    assert destination("192.0.2.1", 5060, allow_external=True) == ("192.0.2.1", 5060)
    for host, port in (("ss1.example.com", 5060), ("192.0.2.1", 70000), ("fe80::1%eth0", 5060)):
        with pytest.raises(AddressError):
            destination(host, port, allow_external=True)


def test_the_socket_family_must_match():
    with pytest.raises(AddressError) as info:
        destination("::1", 5060, family=socket.AF_INET)
    assert str(info.value) == "an IPv6 address, and the socket is IPv4"
    with pytest.raises(AddressError) as info:
        destination("127.0.0.1", 5060, family=socket.AF_INET6)
    assert str(info.value) == "an IPv4 address, and the socket is IPv6"


def test_port_number():
    assert port_number("5060") == 5060
    assert port_number(1) == 1
    with pytest.raises(AddressError):
        port_number("50 60")


@pytest.mark.parametrize(("via", "address"), [
    ("SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;rport=70000", ("127.0.0.1", 70000)),
    ("SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;rport=abc", ("127.0.0.1", 0)),
    ("SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;rport=" + "9" * 5000, ("127.0.0.1", 0)),
    ("SIP/2.0/UDP 127.0.0.1:0", ("127.0.0.1", 0)),
    ("SIP/2.0/UDP 127.0.0.1:5070;maddr=[::1]", ("[::1]", 5070)),
])
def test_response_address_never_raises_and_leaves_the_check_to_the_sender(via, address):
    assert response_address(Via.parse(via)) == address


def test_trusted_proxies():
    proxies = TrustedProxies.parse(["127.0.0.2", "10.0.0.0/8", "::1"])
    assert "127.0.0.2" in proxies and "10.9.8.7" in proxies and "::1" in proxies and "[::1]" in proxies
    assert "127.0.0.3" not in proxies and "garbage" not in proxies and None not in proxies
    assert str(proxies) == "127.0.0.2/32, 10.0.0.0/8, ::1/128"
    assert not TrustedProxies() and "127.0.0.1" not in TrustedProxies()
    with pytest.raises(ValueError) as info:
        TrustedProxies.parse(["10.0.0.0/33"])
    assert str(info.value) == ("trusted proxy '10.0.0.0/33': expected an IP address or a CIDR block,"
                               " e.g. 127.0.0.2 or 10.0.0.0/8")


def test_printable_escapes_control_and_format_characters():
    assert printable("plain text: +15550100") == "plain text: +15550100"
    assert printable("a\x1b[31mred\x07\r\nFAKE\x00\u202e\x9b") == "a\\x1b[31mred\\x07\\r\\nFAKE\\x00\\u202e\\x9b"
    assert printable(b"\xff\xfe bytes") == "\\xff\\xfe bytes"
    assert printable("x" * 300) == "x" * 200 + "..."
    assert printable("x" * 300, None) == "x" * 300


def test_throttle_lets_a_burst_through_per_interval_and_counts_the_rest(caplog):
    caplog.set_level(logging.WARNING, "tests.throttle")
    clock = ManualClock()
    throttle = Throttle(logging.getLogger("tests.throttle"), clock, burst=2, interval=1.0)
    written = [throttle.warning("bad", "bad packet %d", n) for n in range(5)]
    assert written == [True, True, False, False, False] and throttle.held_back("bad") == 3
    assert throttle.warning("other", "another kind")  # each kind has its own budget
    clock.advance(1.0)
    throttle.warning("bad", "bad packet %d", 5)
    assert [r.getMessage() for r in caplog.records] == [
        "bad packet 0", "bad packet 1", "another kind", "bad packet 5 (3 more like it not logged)"]
