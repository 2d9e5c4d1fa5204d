"""Header <-> attribute mappings that do not say one thing.

SIP header names are case-insensitive, so `X-Tier` and `x-tier` are one header. LiveKit
iterates Go maps, whose order is random: when two headers feed one attribute (or two
attributes feed one header) which value wins changes from call to call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sipconf.checks.base import CheckBase, label
from sipconf.issues import Issue
from sipconf.model import DesiredObject, DesiredState


def _groups(pairs: Iterable[tuple[str, str]], distinct=lambda v: v) -> dict[str, list[str]]:
    """Keys with values that differ (by `distinct`): the ambiguous part of a mapping."""
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return {k: sorted(v) for k, v in out.items() if len({distinct(x) for x in v}) > 1}


def _trunks(state: DesiredState) -> list[DesiredObject]:
    return [*state.inbound, *state.outbound]


def _names(values: list[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


@dataclass(frozen=True)
class HeaderToTwoAttributes(CheckBase):
    """One header (case-insensitively) in `headers_to_attributes` twice, with different targets."""

    code: str = "header-mapped-twice"
    level: str = "warning"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        for obj in _trunks(state):
            mapping = obj.message.headers_to_attributes
            by_header = _groups(((h.lower(), h) for h in mapping), distinct=mapping.get)
            for headers in by_header.values():
                attrs = sorted({mapping[h] for h in headers})
                yield self.issue(
                    obj,
                    f"{label(obj)} maps header {_names(headers)} (one header: names are case-insensitive) to"
                    f" attributes {_names(attrs)}: keep one spelling",
                    "headers_to_attributes",
                )


@dataclass(frozen=True)
class TwoHeadersToOneAttribute(CheckBase):
    """Two headers feeding one attribute: which wins depends on Go's random map order."""

    code: str = "attribute-mapped-twice"
    level: str = "warning"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        for obj in _trunks(state):
            inbound = _groups(((a, h) for h, a in obj.message.headers_to_attributes.items()), distinct=str.lower)
            for attr, headers in inbound.items():
                yield self.issue(
                    obj,
                    f'{label(obj)} maps headers {_names(headers)} to the same attribute "{attr}":'
                    " which value wins is random when both are sent; map each header to its own attribute",
                    "headers_to_attributes",
                )
            outbound = _groups((h.lower(), attr) for attr, h in obj.message.attributes_to_headers.items())
            for header, attrs in outbound.items():
                yield self.issue(
                    obj,
                    f'{label(obj)} maps attributes {_names(attrs)} to the same header "{header}":'
                    " which value is sent is random; map each attribute to its own header",
                    "attributes_to_headers",
                )
