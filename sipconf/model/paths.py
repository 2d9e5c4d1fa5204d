"""Scalar fields of a protobuf message addressed by a dotted path (`rule.dispatch_rule_direct.pin`),
the way secrets are named in the model and in a plan."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message


def get_path(msg: Message, path: str) -> Any:
    """The value at `path`, or "" when a parent on the way is absent."""
    *parents, leaf = path.split(".")
    target = msg
    for part in parents:
        if part not in target.DESCRIPTOR.fields_by_name or not target.HasField(part):
            return ""
        target = getattr(target, part)
    return getattr(target, leaf) if leaf in target.DESCRIPTOR.fields_by_name else ""


def set_path(msg: Message, path: str, value: str) -> None:
    """Set a scalar at `path`. Setting "" never creates an absent parent: the parent of a PIN
    is a oneof arm, and creating it would change the kind of the rule."""
    *parents, leaf = path.split(".")
    target = msg
    for part in parents:
        if not value and not target.HasField(part):
            return
        target = getattr(target, part)
    setattr(target, leaf, value)
