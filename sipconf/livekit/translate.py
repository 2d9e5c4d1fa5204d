"""Translation between the normalised model and live LiveKit objects.

The model (sipconf.model) holds the same protobuf messages LiveKit stores, except that the id
field carries the spec name and a rule's `trunk_ids` carry trunk names; secrets are left empty
and kept as references. Live objects carry LiveKit ids (ST_..., SDR_...) and secret values.

The diff compares objects in *name space*: live objects are mapped to names with
`from_live`, both sides are put in `canonical` form, then `flatten`ed into dotted field paths.
`to_live` goes the other way, just before a write.
"""

from __future__ import annotations

from typing import Any, Mapping

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from livekit.protocol import sip

from sipconf.errors import UserError
from sipconf.routing import media as media_rules
INBOUND, OUTBOUND, RULE = "inbound_trunk", "outbound_trunk", "dispatch_rule"
KINDS = (INBOUND, OUTBOUND, RULE)

MESSAGE_CLASS = {
    INBOUND: sip.SIPInboundTrunkInfo,
    OUTBOUND: sip.SIPOutboundTrunkInfo,
    RULE: sip.SIPDispatchRuleInfo,
}
ID_FIELD = {INBOUND: "sip_trunk_id", OUTBOUND: "sip_trunk_id", RULE: "sip_dispatch_rule_id"}

# Passwords and PINs: never printed, only fingerprinted.
SENSITIVE_PATHS = frozenset(
    {
        "auth_password",
        "rule.dispatch_rule_direct.pin",
        "rule.dispatch_rule_individual.pin",
        "rule.dispatch_rule_callee.pin",
    }
)
# Fields the server owns: ids are looked up, never diffed; timestamps are set by Cloud only.
_SERVER_FIELDS = ("created_at", "updated_at")


def copy(msg: Message) -> Message:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def live_id(kind: str, msg: Message) -> str:
    return getattr(msg, ID_FIELD[kind])


def canonical(kind: str, msg: Message) -> Message:
    """`msg` without id and timestamps, with LiveKit's media upgrade applied.

    docs/livekit.md#api-updates: "`Upgrade()` on update (and on dispatch-rule create) always makes
    `media` a present, possibly empty, message and mirrors the deprecated
    `media_encryption`. A drift diff should treat an absent `media` and `media {}` as equal."
    So the deprecated field is folded into `media` (docs/livekit.md#media-merge) and an empty
    `media` is dropped, on both sides.
    """
    out = copy(msg)
    out.ClearField(ID_FIELD[kind])
    for name in _SERVER_FIELDS:
        out.ClearField(name)
    upgraded = media_rules.upgrade(out)
    out.ClearField("media_encryption")
    if upgraded == sip.SIPMediaConfig():
        out.ClearField("media")
    else:
        out.media.CopyFrom(upgraded)
    return out


def from_live(kind: str, msg: Message, trunk_names: Mapping[str, str]) -> tuple[Message, dict[str, str]]:
    """A live object in model form: id -> name, rule trunk ids -> trunk names, secrets lifted out.

    Returns the message (secret fields emptied) and `{path: value}` of the non-empty secrets.
    A trunk id no live trunk carries stays as the id, so a dangling reference shows in a diff.
    """
    out = copy(msg)
    setattr(out, ID_FIELD[kind], msg.name)
    for name in _SERVER_FIELDS:
        out.ClearField(name)
    if kind == RULE:
        names = [trunk_names.get(tid, tid) for tid in out.trunk_ids]
        del out.trunk_ids[:]
        out.trunk_ids.extend(names)
    secrets: dict[str, str] = {}
    for path in sorted(SENSITIVE_PATHS):
        value = get_path(out, path)
        if value:
            secrets[path] = value
            set_path(out, path, "")
    return out, secrets


def with_secrets(msg: Message, secrets: Mapping[str, str]) -> Message:
    """A copy of a model message with secret values filled in at their paths."""
    out = copy(msg)
    for path, value in secrets.items():
        set_path(out, path, value)
    return out


def to_live(kind: str, name: str, msg: Message, trunk_ids: Mapping[str, str]) -> Message:
    """A resolved model message as the request body of a create or replace.

    The id is cleared (LiveKit assigns it; `replace` requires it empty or equal), `name` is the
    spec name, and a rule's trunk names become the live inbound trunk ids in `trunk_ids`.
    """
    out = copy(msg)
    out.ClearField(ID_FIELD[kind])
    out.name = name
    if kind == RULE:
        ids = []
        for trunk in out.trunk_ids:
            if trunk not in trunk_ids:
                raise UserError(f"dispatch rule {name!r} names inbound trunk {trunk!r}, which does not exist live")
            ids.append(trunk_ids[trunk])
        del out.trunk_ids[:]
        out.trunk_ids.extend(ids)
    return out


def get_path(msg: Message, path: str) -> Any:
    *parents, leaf = path.split(".")
    target = msg
    for part in parents:
        if part not in target.DESCRIPTOR.fields_by_name or not target.HasField(part):
            return ""
        target = getattr(target, part)
    return getattr(target, leaf) if leaf in target.DESCRIPTOR.fields_by_name else ""


def set_path(msg: Message, path: str, value: str) -> None:
    """Set a scalar at a dotted path; setting "" never creates an absent parent (a oneof arm)."""
    *parents, leaf = path.split(".")
    target = msg
    for part in parents:
        if not value and not target.HasField(part):
            return
        target = getattr(target, part)
    setattr(target, leaf, value)


def flatten(msg: Message, prefix: str = "") -> dict[str, Any]:
    """`{dotted.path: JSON value}` of every field that is set to a non-default value.

    Sub-messages are walked (so a change of room name and of PIN are separate lines); maps,
    lists and well-known types (Duration) are leaves. Enums are shown by name.
    """
    out: dict[str, Any] = {}
    for field, value in msg.ListFields():
        path = prefix + field.name
        if _is_map(field):
            if value:
                out[path] = {k: _leaf(field.message_type.fields_by_name["value"], v) for k, v in sorted(value.items())}
        elif field.is_repeated:
            if value:
                out[path] = [_leaf(field, v) for v in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not field.message_type.full_name.startswith("google.protobuf."):
            nested = flatten(value, path + ".")
            out.update(nested if nested else {path: {}})
        else:
            out[path] = _leaf(field, value)
    return out


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _leaf(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return json_format.MessageToDict(value, preserving_proto_field_name=True)
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    return value
