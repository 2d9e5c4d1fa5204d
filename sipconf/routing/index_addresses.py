"""Inbound trunk allowlists compiled once, and a source address -> trunks index.

The literal check is `masks.match_addr_masks` (upstream `sip/sip.go:matchAddrMasks`): a
trunk admits a call whose source IP does not parse, a trunk without a valid mask admits
every call, and otherwise one valid mask must equal the From host, equal the source IP
(no `/`), or contain it (`/`). The caller check is `sip/sip.go:matchNumbers`: raw or
normalised equality, which is normalised equality since equal strings normalise equally.

A parsed address is a plain `(version, value, zone)` tuple here: it is hashed and compared
several times per call, which a tuple does at C speed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Iterable, Sequence

from livekit.protocol import sip

from sipconf.routing.masks import is_valid_mask, parse_addr, parse_prefix
from sipconf.routing.numbers import normalize_number
from sipconf.routing.index_shared import Shared

Source = tuple[int, int, str]  # (4 or 6, the address as an integer, the IPv6 zone or "")
_WIDTH = {4: 32, 6: 128}
# One empty set for every trunk without exact addresses: a set read by every call stays in
# the CPU's caches, one per trunk does not once there are thousands.
_NONE: frozenset = frozenset()


def parse_source(text: str) -> Source | None:
    """`masks.parse_addr(text)` as a tuple (None where it is None).

    The two spellings almost every call brings are read directly: a dotted quad (ASCII
    digits, no leading zero, each at most 255) and IPv6 hex groups with at most one `::`
    (no zone, no embedded IPv4); `parse_addr` reads exactly these the same way. Anything
    else, valid or not, goes through `parse_addr`.
    """
    if text.isascii():
        read = _dotted_quad(text) if "." in text else _hex_groups(text)
        if read is not None:
            return read
    addr = parse_addr(text)
    return None if addr is None else (addr.version, addr.value, addr.zone)


_OCTET = r"(0|[1-9][0-9]{0,2})"  # no leading zero; [0-9] is ASCII only
_DOTTED_QUAD = re.compile(r"\.".join([_OCTET] * 4))


def _dotted_quad(text: str) -> Source | None:
    read = _DOTTED_QUAD.fullmatch(text)
    if read is None:
        return None
    a, b, c, d = map(int, read.groups())
    if a > 255 or b > 255 or c > 255 or d > 255:
        return None
    return 4, a << 24 | b << 16 | c << 8 | d, ""


_HEX_GROUPS = re.compile(r"[0-9a-fA-F:]+")


def _hex_groups(text: str) -> Source | None:
    if _HEX_GROUPS.fullmatch(text) is None:
        return None
    head, gap, tail = text.partition("::")
    before = head.split(":") if head else []
    after = tail.split(":") if tail else []
    groups = before + after
    # Without `::` exactly 8 groups; with it at most 7 (it stands for at least one).
    if (len(groups) > 7 if gap else len(groups) != 8) or any(not 1 <= len(g) <= 4 for g in groups):
        return None
    value = 0
    for group in before:
        value = value << 16 | int(group, 16)
    value <<= 16 * (8 - len(groups))
    for group in after:
        value = value << 16 | int(group, 16)
    return 6, value, ""


@dataclass(frozen=True, slots=True)
class AddressMasks:
    """A trunk's valid `allowed_addresses`, split by how each one can match."""

    hosts: frozenset[str]  # every valid mask, compared with the From host as a string
    ips: frozenset[Source]  # masks without `/` that parse as an address
    prefixes: tuple[tuple[int, int, int], ...]  # masks with `/` that parse: (version, shift, address >> shift)

    @staticmethod
    def compile(masks: Iterable[str]) -> AddressMasks | None:
        """None when no mask is valid: such a trunk admits every source."""
        valid = [m for m in masks if is_valid_mask(m)]
        if not valid:
            return None
        ips = {parse_source(m) for m in valid if "/" not in m}
        prefixes = []
        for mask in valid:
            prefix = parse_prefix(mask) if "/" in mask else None
            if prefix is not None:
                shift = _WIDTH[prefix.addr.version] - prefix.bits
                prefixes.append((prefix.addr.version, shift, prefix.addr.value >> shift))
        return AddressMasks(frozenset(valid), frozenset(ips - {None}) or _NONE, tuple(prefixes))


class TrunkFilter:
    """One inbound trunk with its allowlists compiled; `position` is its rank by id.

    Compared and hashed by identity: a trunk is one filter. A plain class with slots, set
    once when built and only read after: the routing index extends it with everything else
    it reads about the trunk (`index_trunks.IndexedTrunk`), so that a call reaches one
    object per trunk, not four, once the index has outgrown the CPU's caches.
    """

    # What a call reads first comes first: an object spans several cache lines.
    __slots__ = (
        "callers", "open_source", "ips", "v4_shift", "v4_key", "v6_shift", "v6_key", "trunk", "v4", "v6", "hosts",
        "position",
    )

    def __init__(self, position: int, trunk: sip.SIPInboundTrunkInfo, shared: Shared | None = None) -> None:
        share = shared or Shared()
        self.position = position
        self.trunk = trunk
        # normalised allowed_numbers; None admits every caller
        self.callers: frozenset[str] | None = (
            share(frozenset(share(normalize_number(n)) for n in trunk.allowed_numbers)) if trunk.allowed_numbers else None
        )
        masks = AddressMasks.compile(trunk.allowed_addresses)
        self.open_source = masks is None  # no valid mask: every source is admitted
        # The masks' parts, read directly: equal sets and prefix lists are kept once.
        self.ips: frozenset[Source] = share(masks.ips) if masks is not None else _NONE
        # Prefixes as (shift, address >> shift); the first of each family in the trunk's own
        # record (most trunks have one), which saves reaching two objects per call. Without
        # one, a key no shifted address equals.
        v4, v6 = _family(masks, 4), _family(masks, 6)
        self.v4_shift, self.v4_key = v4[0] if v4 else _NO_PREFIX
        self.v4: tuple[tuple[int, int], ...] = share(v4[1:])
        self.v6_shift, self.v6_key = v6[0] if v6 else _NO_PREFIX
        self.v6: tuple[tuple[int, int], ...] = share(v6[1:])
        # A few hosts compare faster, and take less room, as a tuple.
        self.hosts: Collection[str] = share(_small(masks.hosts)) if masks is not None else ()

    @classmethod
    def compile(cls, position: int, trunk: sip.SIPInboundTrunkInfo) -> TrunkFilter:
        return cls(position, trunk)

    def admits(self, caller: str, source: Source | None, host: str) -> bool:
        """`caller` is the normalised From user, `source` the parsed source (None: unparseable)."""
        if self.callers is not None and caller not in self.callers:
            return False
        return self.admits_source(source, host)

    def admits_source(self, source: Source | None, host: str) -> bool:
        """The address allowlist alone."""
        if source is None or self.open_source or source in self.ips:
            return True
        version, value, zone = source
        if not zone:  # Go's `netip.Prefix.Contains`: a zoned address is in no prefix
            if version == 4:
                if value >> self.v4_shift == self.v4_key:
                    return True
                more = self.v4
            else:
                if value >> self.v6_shift == self.v6_key:
                    return True
                more = self.v6
            for shift, key in more:
                if value >> shift == key:
                    return True
        return host in self.hosts

    def prefixes(self, version: int) -> tuple[tuple[int, int], ...]:
        """Every prefix of the family, as (shift, address >> shift)."""
        if version == 4:
            first, more = (self.v4_shift, self.v4_key), self.v4
        else:
            first, more = (self.v6_shift, self.v6_key), self.v6
        return more if first == _NO_PREFIX else (first, *more)


_NO_PREFIX = (0, -1)


def _small(values: frozenset[str]) -> Collection[str]:
    return tuple(sorted(values)) if len(values) <= 4 else values


def _family(masks: AddressMasks | None, version: int) -> tuple[tuple[int, int], ...]:
    if masks is None:
        return ()
    return tuple((shift, key) for family, shift, key in masks.prefixes if family == version)


class AddressIndex:
    """Source address (and From host) -> the filters whose masks admit it.

    Hosts and exact addresses are hash lookups. Prefixes are a table per prefix length:
    a source is looked up once per distinct length of its family (at most 33 for IPv4,
    129 for IPv6), with the address cut to that length as the key. A zoned source never
    matches a prefix, as in Go's `netip.Prefix.Contains`.
    """

    def __init__(self, filters: Sequence[TrunkFilter]) -> None:
        self._hosts: dict[str, list[TrunkFilter]] = {}
        self._ips: dict[Source, list[TrunkFilter]] = {}
        by_length: dict[tuple[int, int], dict[int, list[TrunkFilter]]] = {}
        for item in filters:
            if item.open_source:
                continue
            for host in item.hosts:
                self._hosts.setdefault(host, []).append(item)
            for ip in item.ips:
                self._ips.setdefault(ip, []).append(item)
            for version in _WIDTH:
                for shift, key in item.prefixes(version):
                    by_length.setdefault((version, shift), {}).setdefault(key, []).append(item)
        self._prefixes: dict[int, tuple[tuple[int, dict[int, list[TrunkFilter]]], ...]] = {
            version: tuple((shift, table) for (v, shift), table in sorted(by_length.items()) if v == version)
            for version in _WIDTH
        }

    def lookup(self, source: Source, host: str) -> set[TrunkFilter]:
        """Every filter with a mask equal to `host`, equal to `source`, or containing it."""
        found: set[TrunkFilter] = set(self._hosts.get(host, ()))
        found.update(self._ips.get(source, ()))
        version, value, zone = source
        if not zone:
            for shift, table in self._prefixes[version]:
                hit = table.get(value >> shift)
                if hit is not None:
                    found.update(hit)
        return found
