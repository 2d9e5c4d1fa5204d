"""Shared comparison helpers for vector checks."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

from google.protobuf import json_format
from google.protobuf.message import Message


def show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def compare(
    expect: Mapping[str, Any],
    actual: Mapping[str, Any],
    known: set[str] | frozenset[str] | None = None,
    special: Mapping[str, Callable[[Any, Mapping[str, Any]], str | None]] | None = None,
    ignore: tuple[str, ...] = ("exact",),
) -> list[str]:
    """Compare every `expect` key with `actual`.

    `known` is the set of keys this kind understands (default: the keys of `actual` plus
    `special`); any other key is a mismatch. `special[key](expected, actual)` returns a
    mismatch line or None for keys compared in their own way (regexes, substrings).
    """
    special = special or {}
    known_keys = set(known) if known is not None else set(actual) | set(special)
    out: list[str] = []
    for key, want in expect.items():
        if key in ignore:
            continue
        if key not in known_keys and key not in special:
            out.append(f"unknown expect key {key!r}")
            continue
        if key in special:
            msg = special[key](want, actual)
            if msg:
                out.append(msg)
            continue
        got = actual.get(key)
        if got != want:
            out.append(f"{key}: expected {show(want)}, got {show(got)}")
    return out


def regex_check(field: str) -> Callable[[Any, Mapping[str, Any]], str | None]:
    def check(pattern: Any, actual: Mapping[str, Any]) -> str | None:
        got = actual.get(field)
        if not isinstance(got, str) or re.search(pattern, got) is None:
            return f"{field}: expected match of {pattern!r}, got {show(got)}"
        return None

    return check


def to_json(msg: Message | None) -> Any:
    """Protobuf JSON with proto field names and defaults omitted, as the vectors use."""
    if msg is None:
        return None
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def from_json(cls: type[Message], data: Mapping[str, Any] | None) -> Message:
    msg = cls()
    if data:
        json_format.ParseDict(data, msg, ignore_unknown_fields=False)
    return msg
