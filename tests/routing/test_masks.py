"""Address masks with Go netip semantics (docs/livekit.md#address-masks)."""

from __future__ import annotations

import pytest

from sipconf.routing.masks import is_valid_mask, match_addr_mask, match_addr_masks


@pytest.mark.parametrize(
    "mask",
    ["a(b", "a)b", "1+2", "*.example.com", "a;b", "a,b", "a b", "a\tb", "a\rb", "a\nb", "sip://host"],
)
def test_invalid_masks(mask):
    assert not is_valid_mask(mask)


@pytest.mark.parametrize("mask", ["", "[::1]", "10.0.0.0/8", "sip.example.com", "fe80::1%eth0"])
def test_valid_masks(mask):
    assert is_valid_mask(mask)


@pytest.mark.parametrize(
    ("ip", "mask", "match"),
    [
        ("192.168.0.10", "192.168.0.10", True),
        ("192.168.0.10", "192.168.0.10/0", True),  # host bits may be set
        ("192.168.0.10", "192.168.0.0/24", True),
        ("192.168.0.10", "192.170.0.0/24", False),
        ("192.168.0.10", "192.168.0.0/024", False),  # leading zero in the length
        ("192.168.0.10", "192.168.0.0/+24", False),  # sign in the length
        ("192.168.0.10", "192.168.0.0/33", False),
        ("192.168.0.10", "192.168.0.0/", False),
        ("192.168.0.10", "192.168.000.10", False),  # leading zeros in an octet
        ("1.2.3.4", "::ffff:1.2.3.4", False),  # IPv4 and IPv4-mapped IPv6 differ
        ("::ffff:1.2.3.4", "1.2.3.0/24", False),  # IPv6 never matches an IPv4 prefix
        ("1.2.3.4", "::/0", False),  # nor the reverse
        ("::1", "::1", True),
        ("2001:db8::1", "2001:db8::/32", True),
        ("fe80::1%eth0", "fe80::1%eth0", True),  # zones count in equality
        ("fe80::1%eth0", "fe80::1%eth1", False),
        ("fe80::1%eth0", "fe80::1", False),
        ("fe80::1%eth0", "fe80::/10", False),  # a zoned address never matches a prefix
        ("fe80::1", "fe80::1%eth0/64", False),  # zones are not allowed in a prefix
        ("::1", "[::1]", False),  # never parses as an IP
        ("1.2.3.4", "fe80::1%", False),  # empty zone
        ("not-an-ip", "0.0.0.0/0", False),
        ("1.2.3.4", "1.2.3.4%eth0", False),  # IPv4 has no zones
        ("fe80::1%é", "fe80::1%é", True),  # a zone may hold any bytes
        ("::1", "%eth0", False),
    ],
)
def test_match_addr_mask(ip, mask, match):
    assert match_addr_mask(ip, mask) is match


@pytest.mark.parametrize(
    ("ip", "host", "masks", "match"),
    [
        ("", "h", ["10.0.0.0/8"], True),  # 1. unparseable source passes
        ("garbage", "h", ["10.0.0.0/8"], True),
        ("1.2.3.4", "h", [], True),  # 2. no masks
        ("1.2.3.4", "h", ["a,b", "x y"], True),  # 2. only invalid masks
        ("1.2.3.4", "h", ["10.0.0.0/8"], False),
        ("1.2.3.4", "sip.example.com", ["sip.example.com"], True),  # 3. host equality
        ("1.2.3.4", "SIP.example.com", ["sip.example.com"], False),  # case-sensitive
        ("::1", "[::1]", ["[::1]"], True),  # bracketed IPv6 only by host equality
        ("1.2.3.4", "h", ["some.domain,1.2.3.4", "1.2.3.0/24"], True),
        ("1.2.3.4", "", [""], True),  # an empty mask is valid and equals an empty host
    ],
)
def test_match_addr_masks(ip, host, masks, match):
    assert match_addr_masks(ip, host, masks) is match
