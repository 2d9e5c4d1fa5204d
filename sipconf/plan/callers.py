"""The representative calls to one number, for route impact (sipconf.plan.impact).

A call's route depends on its source (a trunk's `allowed_addresses`) and its caller (a trunk's
`allowed_numbers`, a rule's `inbound_numbers`). Only the trunks that could take the number,
and the rules they could select, filter calls to it; so only their entries are asked about.

Sources: one per `allowed_addresses` entry (called from its network address, its address, or
as its From host), plus "any other source", an address no entry admits.

Callers: the callers those lists name fall into classes that every filter treats alike, each
caller matched as LiveKit matches it (a trunk compares raw or normalised numbers, a rule raw
strings). One call per class decides for the whole class, so an allowlist of 10,000 callers
costs one evaluation, and the class is shown as ranges (`+14085550000..+14085550099`). "Any
other caller" is a caller no list names.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from google.protobuf.message import Message

from sipconf.plan.changes import OTHER_SOURCE
from sipconf.routing.call import CallFacts
from sipconf.routing.masks import is_valid_mask, match_addr_mask, parse_addr, parse_prefix
from sipconf.routing.numbers import normalize_number

if TYPE_CHECKING:
    from sipconf.plan.impact import Routes

# Documentation addresses (RFC 5737, RFC 3849): "any other source" is the first no entry admits.
_OTHER_ADDRESSES = ("192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1")


@dataclass(frozen=True)
class Source:
    """Where a call comes from; `label` is None when no trunk filters on the source."""

    label: str | None = None
    src_ip: str = ""
    from_host: str = ""


@dataclass(frozen=True)
class Callers:
    """Callers every filter treats alike; no numbers = any caller no list names."""

    numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Call:
    source: Source
    callers: Callers

    def facts(self, number: str) -> CallFacts:
        caller = self.callers.numbers[0] if self.callers.numbers else ""
        return CallFacts(from_user=caller, to_user=number, from_host=self.source.from_host, src_ip=self.source.src_ip)


def calls_to(number: str, *sides: Routes) -> tuple[list[Source], list[Callers]]:
    """The sources and caller classes that tell apart every filter on calls to `number`."""
    trunks = [t for routes in sides for t in routes.trunks_for(number)]
    takers = [rule for routes in sides for rule in routes.takers(number)]
    return sources_of(trunks), caller_classes(trunks, takers)


def sources_of(trunks: list[Message]) -> list[Source]:
    masks = list(dict.fromkeys(m for t in trunks for m in t.allowed_addresses if is_valid_mask(m)))
    if not masks:
        return [Source()]
    other = next((ip for ip in _OTHER_ADDRESSES if not any(match_addr_mask(ip, m) for m in masks)), None)
    sources = [_from_mask(m, other or "") for m in masks]
    if other is not None:
        sources.append(Source(OTHER_SOURCE, src_ip=other))
    return sources


def caller_classes(trunks: list[Message], rules: list[Message]) -> list[Callers]:
    """The callers the trunks' `allowed_numbers` and the rules' `inbound_numbers` name, in
    classes by which of those lists admit them; then "any other caller"."""
    filters = []
    for trunk in _unique(t for t in trunks if t.allowed_numbers):
        listed = set(trunk.allowed_numbers)
        normalised = {normalize_number(n) for n in listed}
        filters.append(lambda caller, raw=listed, norm=normalised: caller in raw or normalize_number(caller) in norm)
    for rule in _unique(r for r in rules if r.inbound_numbers):
        filters.append(lambda caller, raw=frozenset(rule.inbound_numbers): caller in raw)
    if not filters:
        return [Callers()]
    named = dict.fromkeys(n for t in trunks for n in t.allowed_numbers)
    named.update(dict.fromkeys(n for r in rules for n in r.inbound_numbers))
    classes: dict[tuple[bool, ...], list[str]] = {}
    for caller in named:
        classes.setdefault(tuple(admits(caller) for admits in filters), []).append(caller)
    return [Callers(tuple(members)) for members in classes.values()] + [Callers()]


def _unique(messages) -> list[Message]:
    """Distinct messages (the same object on both sides filters alike)."""
    out: list[Message] = []
    for msg in messages:
        if not any(msg is seen or msg == seen for seen in out):
            out.append(msg)
    return out


def _from_mask(mask: str, other: str) -> Source:
    """A call the entry admits: from its network address, its address, or its From host."""
    prefix = parse_prefix(mask) if "/" in mask else None
    if prefix is not None:
        host_bits = (32 if prefix.addr.version == 4 else 128) - prefix.bits
        family = ipaddress.IPv4Address if prefix.addr.version == 4 else ipaddress.IPv6Address
        network = family(prefix.addr.value >> host_bits << host_bits)
        return Source(mask, src_ip=str(network))
    if "/" not in mask and parse_addr(mask) is not None:
        return Source(mask, src_ip=mask)
    return Source(mask, src_ip=other, from_host=mask)  # a host name: From host equality
