"""Partial updates (`update`) and replacements (`replace`) of stored objects
(docs/livekit.md#list-update and #partial-updates).

Order, as LiveKit: validate the update itself (list updates, media), apply it to a copy,
validate the whole result (docs/livekit.md#validate-objects). Any error raises `LiveKitError` and
the caller's object is left untouched, so "on error nothing changes" holds by construction.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from livekit.protocol import sip

from sipconf.routing import media as media_rules
from sipconf.validation.result import invalid
from sipconf.validation.validate import (
    inbound_update_problem,
    list_update_problem,
    outbound_update_problem,
    rule_update_problem,
    validate,
)

M = TypeVar("M")


def apply_list_update(items, list_update) -> list[str]:
    """`items` after a `ListUpdate` (docs/livekit.md#list-update); `None` (absent) leaves them as
    they are.

    `clear` empties, `set` replaces; otherwise the first occurrence of each `remove` value
    goes, then each `add` value not already present is appended.
    """
    out = list(items)
    if list_update is None:
        return out
    problem = list_update_problem(list_update)
    if problem:
        raise invalid(problem)
    if list_update.clear:
        return []
    if list_update.set:
        return list(list_update.set)
    for value in list_update.remove:
        if value in out:
            out.remove(value)  # first occurrence only
    for value in list_update.add:
        if value not in out:
            out.append(value)
    return out


def _replace_list(msg, field: str, update) -> None:
    if update.HasField(field):
        values = apply_list_update(getattr(msg, field), getattr(update, field))
        del getattr(msg, field)[:]
        getattr(msg, field).extend(values)


def _copy_optional(msg, update, fields: tuple[str, ...]) -> None:
    # proto3 `optional`: present means set, even to "" or 0.
    for field in fields:
        if update.HasField(field):
            setattr(msg, field, getattr(update, field))


def _apply_media(msg, update) -> None:
    """docs/livekit.md#partial-updates: `media` replaces, `media_encryption` sets the legacy field,
    then upgrade and rewrite the legacy field from the result (so with `media.encryption` already
    set, a lone `media_encryption` update changes nothing)."""
    if update.HasField("media"):
        msg.media.CopyFrom(update.media)
    if update.HasField("media_encryption"):
        msg.media_encryption = update.media_encryption
    msg.media.CopyFrom(media_rules.upgrade(msg))
    msg.media_encryption = media_rules.encryption_of(msg.media)


def _apply(current: M, action, id_field: str, problem: Callable, patch: Callable) -> M:
    kind = action.WhichOneof("action")
    out = type(current)()
    if kind == "replace":
        # docs/livekit.md#partial-updates: the replacement as given, the stored id forced onto it;
        # no media upgrade.
        out.CopyFrom(action.replace)
        if getattr(current, id_field):
            setattr(out, id_field, getattr(current, id_field))
    elif kind == "update":
        found = problem(action.update)
        if found:
            raise invalid(found)
        out.CopyFrom(current)
        patch(out, action.update)
    else:
        raise invalid("missing or unsupported update action")
    result = validate(out)
    if result.error is not None:
        raise result.error
    return out


def _patch_inbound(t: sip.SIPInboundTrunkInfo, u: sip.SIPInboundTrunkUpdate) -> None:
    for field in ("numbers", "allowed_addresses", "allowed_numbers"):
        _replace_list(t, field, u)
    _copy_optional(t, u, ("auth_username", "auth_password", "auth_realm", "name", "metadata"))
    _apply_media(t, u)


def _patch_outbound(t: sip.SIPOutboundTrunkInfo, u: sip.SIPOutboundTrunkUpdate) -> None:
    _copy_optional(
        t,
        u,
        ("address", "transport", "destination_country", "auth_username", "auth_password", "name", "metadata", "from_host"),
    )
    _replace_list(t, "numbers", u)
    _apply_media(t, u)


def _patch_rule(r: sip.SIPDispatchRuleInfo, u: sip.SIPDispatchRuleUpdate) -> None:
    _replace_list(r, "trunk_ids", u)
    if u.HasField("rule"):
        r.rule.CopyFrom(u.rule)
    _copy_optional(r, u, ("name", "metadata"))
    # Attribute diff: a non-empty value sets, an empty value deletes.
    for key, value in u.attributes.items():
        if value:
            r.attributes[key] = value
        elif key in r.attributes:
            del r.attributes[key]
    _apply_media(r, u)


def apply_inbound_trunk_update(
    current: sip.SIPInboundTrunkInfo, action: sip.UpdateSIPInboundTrunkRequest
) -> sip.SIPInboundTrunkInfo:
    """The stored inbound trunk after `action` (its `update` or `replace`)."""
    return _apply(current, action, "sip_trunk_id", inbound_update_problem, _patch_inbound)


def apply_outbound_trunk_update(
    current: sip.SIPOutboundTrunkInfo, action: sip.UpdateSIPOutboundTrunkRequest
) -> sip.SIPOutboundTrunkInfo:
    """The stored outbound trunk after `action` (its `update` or `replace`)."""
    return _apply(current, action, "sip_trunk_id", outbound_update_problem, _patch_outbound)


def apply_dispatch_rule_update(
    current: sip.SIPDispatchRuleInfo, action: sip.UpdateSIPDispatchRuleRequest
) -> sip.SIPDispatchRuleInfo:
    """The stored dispatch rule after `action` (its `update` or `replace`)."""
    return _apply(current, action, "sip_dispatch_rule_id", rule_update_problem, _patch_rule)

