"""The diff's view of an object: name space, canonical form, flattened into field paths.

Live objects carry LiveKit ids (ST_..., SDR_...) and secret values; model objects
(sipconf.model) carry spec names and secret references. The diff compares both in *name
space*: a live object is mapped to names with `from_live`, both sides are put in `canonical`
form, then `flatten`ed into dotted field paths. The way back, model to request body, is
`sipconf.livekit.wire.to_live`, just before a write.
"""

from __future__ import annotations

from typing import Any, Mapping

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from livekit.protocol import sip

from sipconf.model.kinds import ID_FIELD, RULE, SENSITIVE_PATHS
from sipconf.model.paths import get_path, set_path
from sipconf.routing import media as media_rules

# Set by the server only (Cloud stamps them); never part of what a spec says.
SERVER_FIELDS = ("created_at", "updated_at")


def copy(msg: Message) -> Message:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def canonical(kind: str, msg: Message) -> Message:
    """`msg` without id and timestamps, with LiveKit's media upgrade applied.

    LiveKit's `Upgrade()` on update (and on dispatch-rule create) always makes `media` a
    present, possibly empty, message and mirrors the deprecated `media_encryption` into it.
    So the deprecated field is folded into `media` and an empty `media` is dropped, on both
    sides: an absent `media` and `media {}` are equal, and a read-back shows no change.
    """
    out = copy(msg)
    out.ClearField(ID_FIELD[kind])
    for name in SERVER_FIELDS:
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
    for name in SERVER_FIELDS:
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
