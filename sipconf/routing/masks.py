"""Source-address allowlists of inbound trunks (docs/livekit.md#address-masks), with Go `net/netip`
parsing.

Python's `ipaddress` is close to Go's `netip` but not equal (zones, prefix lengths such as
`/08` or `/+8`, non-ASCII digits), so the edges are handled here explicitly.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from dataclasses import dataclass
from typing import Iterable

# "A mask is valid unless it contains any of ( ) + * ; , space, tab, CR, LF, or ://"
# (docs/livekit.md#address-masks).
_INVALID_CHARS = frozenset("()+*;, \t\r\n")


@dataclass(frozen=True)
class Addr:
    """A Go `netip.Addr`: IPv4 and IPv6 (even IPv4-mapped) differ, and so do zones."""

    version: int
    value: int
    zone: str = ""


def is_valid_mask(mask: str) -> bool:
    return not any(ch in _INVALID_CHARS for ch in mask) and "://" not in mask


@lru_cache(maxsize=4096)
def parse_addr(s: str) -> Addr | None:
    """Go `netip.ParseAddr`, or None where Go returns an error.

    Cached: the same allowlist entries and source addresses are parsed on every call.
    """
    # Go decides the family by the first `.` or `:` (a leading `%` is "missing IPv6 address").
    family = next((ch for ch in s if ch in ".:%"), "")
    if family == ":":
        # IPv6, optionally with a zone: "fe80::1%eth0". Go takes everything after the first
        # `%` as the zone (any bytes) and only requires it to be non-empty.
        body, sep, zone = s.partition("%")
        if (sep and not zone) or not body.isascii():
            return None
        try:
            ip6 = ipaddress.IPv6Address(body)
        except ValueError:
            return None
        return Addr(6, int(ip6), zone)
    if family != "." or not s.isascii():
        return None
    try:
        # Leading zeros ("01.2.3.4") are rejected by both Python (>= 3.9.5) and Go.
        return Addr(4, int(ipaddress.IPv4Address(s)))
    except ValueError:
        return None


@dataclass(frozen=True)
class Prefix:
    addr: Addr
    bits: int

    def contains(self, ip: Addr) -> bool:
        """Go `Prefix.Contains`: same family, no zone on `ip`; host bits in the prefix ignored."""
        if ip.zone or ip.version != self.addr.version:
            return False
        shift = (32 if ip.version == 4 else 128) - self.bits
        return (ip.value >> shift) == (self.addr.value >> shift)


@lru_cache(maxsize=4096)
def parse_prefix(s: str) -> Prefix | None:
    """Go `netip.ParsePrefix`, or None where Go returns an error."""
    addr_part, sep, bits_str = s.rpartition("/")
    if not sep:
        return None
    addr = parse_addr(addr_part)
    if addr is None or addr.zone:  # "IPv6 zones cannot be present in a prefix"
        return None
    # Go refuses a sign or leading zeros in the length ("bad bits after slash").
    if not bits_str.isascii() or not bits_str.isdigit() or (len(bits_str) > 1 and bits_str[0] == "0"):
        return None
    bits = int(bits_str)
    if bits > (32 if addr.version == 4 else 128):
        return None
    return Prefix(addr, bits)


def match_addr_mask(ip: str | Addr, mask: str) -> bool:
    """One mask without host equality: IP equality without `/`, containment with `/`."""
    addr = parse_addr(ip) if isinstance(ip, str) else ip
    if addr is None:
        return False
    if "/" not in mask:
        return parse_addr(mask) == addr
    prefix = parse_prefix(mask)
    return prefix is not None and prefix.contains(addr)


def match_addr_masks(ip: str, host: str, masks: Iterable[str]) -> bool:
    """Does a call from source `ip` with From host `host` pass `allowed_addresses`?
    (docs/livekit.md#address-masks)"""
    addr = parse_addr(ip)
    if addr is None:  # 1. unparseable source IP (including "") -> pass
        return True
    valid = [m for m in masks if is_valid_mask(m)]
    if not valid:  # 2. no valid masks left -> pass
        return True
    # 3. host equality (case-sensitive, hostnames are never resolved), IP, or prefix.
    return any(m == host or match_addr_mask(addr, m) for m in valid)
