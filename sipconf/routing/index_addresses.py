"""Inbound trunk allowlists compiled once, and a source address -> trunks index.

The literal check is `masks.match_addr_masks` (upstream `sip/sip.go:matchAddrMasks`): a
trunk admits a call whose source IP does not parse, a trunk without a valid mask admits
every call, and otherwise one valid mask must equal the From host, equal the source IP
(no `/`), or contain it (`/`). The caller check is `sip/sip.go:matchNumbers`: raw or
normalised equality, which is normalised equality since equal strings normalise equally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from livekit.protocol import sip

from sipconf.routing.masks import Addr, Prefix, is_valid_mask, parse_addr, parse_prefix
from sipconf.routing.numbers import normalize_number

_WIDTH = {4: 32, 6: 128}


@dataclass(frozen=True)
class AddressMasks:
    """A trunk's valid `allowed_addresses`, split by how each one can match."""

    hosts: frozenset[str]  # every valid mask, compared with the From host as a string
    ips: frozenset[Addr]  # masks without `/` that parse as an address
    prefixes: tuple[Prefix, ...]  # masks with `/` that parse as a prefix

    @staticmethod
    def compile(masks: Iterable[str]) -> AddressMasks | None:
        """None when no mask is valid: such a trunk admits every source."""
        valid = [m for m in masks if is_valid_mask(m)]
        if not valid:
            return None
        ips = {parse_addr(m) for m in valid if "/" not in m}
        prefixes = (parse_prefix(m) for m in valid if "/" in m)
        return AddressMasks(frozenset(valid), frozenset(ips - {None}), tuple(p for p in prefixes if p is not None))

    def admits(self, addr: Addr, host: str) -> bool:
        return host in self.hosts or addr in self.ips or any(p.contains(addr) for p in self.prefixes)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a trunk is one filter
class TrunkFilter:
    """One inbound trunk with its allowlists compiled; `position` is its rank by id."""

    position: int
    trunk: sip.SIPInboundTrunkInfo
    callers: frozenset[str] | None  # normalised allowed_numbers; None admits every caller
    masks: AddressMasks | None  # None admits every source

    @staticmethod
    def compile(position: int, trunk: sip.SIPInboundTrunkInfo) -> TrunkFilter:
        callers = frozenset(normalize_number(n) for n in trunk.allowed_numbers) if trunk.allowed_numbers else None
        return TrunkFilter(position, trunk, callers, AddressMasks.compile(trunk.allowed_addresses))

    def admits(self, caller: str, addr: Addr | None, host: str) -> bool:
        """`caller` is the normalised From user, `addr` the parsed source (None: unparseable)."""
        if self.callers is not None and caller not in self.callers:
            return False
        return addr is None or self.masks is None or self.masks.admits(addr, host)


class AddressIndex:
    """Source address (and From host) -> the filters whose masks admit it.

    Hosts and exact addresses are hash lookups. Prefixes are a table per prefix length:
    a source is looked up once per distinct length of its family (at most 33 for IPv4,
    129 for IPv6), with the address cut to that length as the key. A zoned source never
    matches a prefix, as in Go's `netip.Prefix.Contains`.
    """

    def __init__(self, filters: Sequence[TrunkFilter]) -> None:
        self._hosts: dict[str, list[TrunkFilter]] = {}
        self._ips: dict[Addr, list[TrunkFilter]] = {}
        by_length: dict[tuple[int, int], dict[int, list[TrunkFilter]]] = {}
        for item in filters:
            masks = item.masks
            if masks is None:
                continue
            for host in masks.hosts:
                self._hosts.setdefault(host, []).append(item)
            for ip in masks.ips:
                self._ips.setdefault(ip, []).append(item)
            for prefix in masks.prefixes:
                version = prefix.addr.version
                shift = _WIDTH[version] - prefix.bits
                table = by_length.setdefault((version, shift), {})
                table.setdefault(prefix.addr.value >> shift, []).append(item)
        self._prefixes: dict[int, tuple[tuple[int, dict[int, list[TrunkFilter]]], ...]] = {
            version: tuple((shift, table) for (v, shift), table in sorted(by_length.items()) if v == version)
            for version in _WIDTH
        }

    def lookup(self, addr: Addr, host: str) -> set[TrunkFilter]:
        """Every filter with a mask equal to `host`, equal to `addr`, or containing `addr`."""
        found: set[TrunkFilter] = set(self._hosts.get(host, ()))
        found.update(self._ips.get(addr, ()))
        if not addr.zone:
            value = addr.value
            for shift, table in self._prefixes[addr.version]:
                hit = table.get(value >> shift)
                if hit is not None:
                    found.update(hit)
        return found
