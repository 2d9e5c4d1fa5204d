"""List filters of the List* SIP requests (docs/livekit.md#list-filters).

Two forms: the *slot* form of LiveKit's protocol helpers (`slots=True`; what the vectors
test), which follows the request's id order and leaves `None` where a requested id is
missing, and the *server* form the OSS List endpoints return: passing items sorted by id,
after `page.after_id`, at most `page.limit`.
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from sipconf.routing.numbers import same_number

T = TypeVar("T")


def _inbound_numbers_pass(numbers: Sequence[str], wanted: Sequence[str]) -> bool:
    # Inbound: a trunk without numbers accepts any number; else raw or normalised equality.
    return not wanted or not numbers or any(same_number(n, w) for n in numbers for w in wanted)


def _outbound_numbers_pass(numbers: Sequence[str], wanted: Sequence[str]) -> bool:
    # Outbound: same, but raw strings only (LiveKit does not normalise here).
    return not wanted or not numbers or any(n in wanted for n in numbers)


def _trunk_ids_pass(trunk_ids: Sequence[str], wanted: Sequence[str]) -> bool:
    # A rule without trunk ids applies to every trunk, so it passes any trunk filter.
    return not wanted or not trunk_ids or any(t in wanted for t in trunk_ids)


def _filter(
    items: Sequence[T],
    ids: Sequence[str],
    id_of: Callable[[T], str],
    passes: Callable[[T], bool],
    page,
    slots: bool,
) -> list[T | None]:
    if slots:
        source: list[T | None] = list(items)
        if ids:
            # One slot per requested id (duplicates duplicate slots), first item with that id.
            first: dict[str, T] = {}
            for item in items:
                first.setdefault(id_of(item), item)
            source = [first.get(i) for i in ids]
        return [item for item in source if item is None or passes(item)]
    wanted = set(ids)
    out = sorted(
        (item for item in items if (not ids or id_of(item) in wanted) and passes(item)),
        key=id_of,
    )
    if page is not None:
        if page.after_id:
            out = [item for item in out if id_of(item) > page.after_id]
        if page.limit > 0:
            out = out[: page.limit]
    return out  # type: ignore[return-value]


def _page(req):
    return req.page if req.HasField("page") else None


def filter_inbound_trunks(items, req, *, slots: bool = False):
    """Inbound trunks a `ListSIPInboundTrunkRequest` returns."""
    return _filter(
        items,
        req.trunk_ids,
        lambda t: t.sip_trunk_id,
        lambda t: _inbound_numbers_pass(t.numbers, req.numbers),
        _page(req),
        slots,
    )


def filter_outbound_trunks(items, req, *, slots: bool = False):
    """Outbound trunks a `ListSIPOutboundTrunkRequest` returns."""
    return _filter(
        items,
        req.trunk_ids,
        lambda t: t.sip_trunk_id,
        lambda t: _outbound_numbers_pass(t.numbers, req.numbers),
        _page(req),
        slots,
    )


def filter_dispatch_rules(items, req, *, slots: bool = False):
    """Dispatch rules a `ListSIPDispatchRuleRequest` returns."""
    return _filter(
        items,
        req.dispatch_rule_ids,
        lambda r: r.sip_dispatch_rule_id,
        lambda r: _trunk_ids_pass(r.trunk_ids, req.trunk_ids),
        _page(req),
        slots,
    )
