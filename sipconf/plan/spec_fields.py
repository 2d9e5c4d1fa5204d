"""A plan speaks the spec: protobuf field paths and values -> the spec's paths and values.

The diff compares LiveKit messages field by field (sipconf.plan.canonical), which is exact;
a reviewer reads the spec, so each differing protobuf path is named as the spec names it
(`auth_password` -> `auth.password`, `rule.dispatch_rule_direct.room_name` -> `direct.room`,
`trunk_ids` -> `trunks`) and each value written as the spec writes it (`SIP_TRANSPORT_UDP` ->
`udp`, `3600s` -> `1h`, codecs by name). The mapping mirrors sipconf.spec.normalise, which
goes the other way. A protobuf field the spec cannot write keeps its protobuf path and value,
so nothing that differs is ever hidden.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from livekit.protocol import sip

from sipconf.model.kinds import INBOUND, OUTBOUND, RULE
from sipconf.spec.normalise import ENCRYPTION, INCLUDE_HEADERS, TRANSPORT

# Fields that hold phone numbers (or SIP users): written as ranges (sipconf.plan.ranges).
NUMBER_FIELDS = frozenset({"numbers", "allowed_numbers", "inbound_numbers"})
PASSWORD = "auth.password"
PINS = frozenset({"direct.pin", "individual.pin", "callee.pin"})

# Longest prefix wins; `name` is the object's key in the spec, never a field of it.
_RENAMED = {
    "name": None,
    "auth_username": "auth.username",
    "auth_password": "auth.password",
    "auth_realm": "auth.realm",
    "krisp_enabled": "krisp",
    "trunk_ids": "trunks",
    "media.media_timeout": "media.timeout",
    "rule.dispatch_rule_direct.room_name": "direct.room",
    "rule.dispatch_rule_direct": "direct",
    "rule.dispatch_rule_individual": "individual",
    "rule.dispatch_rule_callee": "callee",
}
_ENUM_WORDS = {
    "include_headers": {sip.SIPHeaderOptions.Name(v): word for word, v in INCLUDE_HEADERS.items()},
    "transport": {sip.SIPTransport.Name(v): word for word, v in TRANSPORT.items()},
    "media.encryption": {sip.SIPMediaEncryption.Name(v): word for word, v in ENCRYPTION.items()},
}
_DURATIONS = frozenset({"ringing_timeout", "max_call_duration", "media.timeout"})

# The order a spec is written in (scenarios/demo/spec.yaml), so a plan reads like the spec.
_AUTH = {"username": {}, "password": {}, "realm": {}}
_MEDIA = {"encryption": {}, "timeout": {}, "codecs": {}, "only_listed_codecs": {}}
_HEADERS = {"headers": {}, "headers_to_attributes": {}, "attributes_to_headers": {}, "include_headers": {}}
_ROOM_CONFIG = {
    key: {}
    for key in ("name", "empty_timeout", "departure_timeout", "max_participants", "metadata",
                "min_playout_delay", "max_playout_delay", "sync_streams", "agents", "tags")
}
ORDER: dict[str, dict[str, dict]] = {
    INBOUND: {
        "numbers": {}, "allowed_addresses": {}, "allowed_numbers": {}, "auth": _AUTH, **_HEADERS,
        "media": _MEDIA, "ringing_timeout": {}, "ringing_timeout_status": {}, "max_call_duration": {},
        "krisp": {}, "metadata": {},
    },
    OUTBOUND: {
        "address": {}, "transport": {}, "numbers": {}, "auth": _AUTH, "destination_country": {},
        "from_host": {}, **_HEADERS, "media": _MEDIA, "metadata": {},
    },
    RULE: {
        "trunks": {}, "numbers": {}, "inbound_numbers": {},
        "direct": {"room": {}, "pin": {}},
        "individual": {"room_prefix": {}, "pin": {}, "no_randomness": {}},
        "callee": {"room_prefix": {}, "pin": {}, "randomize": {}},
        "hide_phone_number": {}, "attributes": {}, "metadata": {}, "room_preset": {},
        "room_config": _ROOM_CONFIG, "krisp": {}, "media": _MEDIA,
    },
}


def object_path(kind: str, name: str) -> str:
    """Where the object stands in the spec: `trunks.twilio.inbound`, `dispatch_rules.support`."""
    if kind == RULE:
        return f"dispatch_rules.{name}"
    return f"trunks.{name}.{'inbound' if kind == INBOUND else 'outbound'}"


def spec_path(proto_path: str) -> str | None:
    """The spec's path of a protobuf field path; None for `name` (the object's key)."""
    for end in range(len(proto_path), 0, -1):
        if end < len(proto_path) and proto_path[end] != ".":
            continue
        head = proto_path[:end]
        if head in _RENAMED:
            renamed = _RENAMED[head]
            return None if renamed is None else renamed + proto_path[end:]
    return proto_path


def spec_value(path: str, value: Any) -> Any:
    """A flattened protobuf value (sipconf.plan.canonical.flatten) as the spec writes it."""
    if value is None:
        return None
    if path in _ENUM_WORDS:
        return _ENUM_WORDS[path].get(value, value)
    if path == "ringing_timeout_status" and isinstance(value, str) and value in sip.SIPStatusCode.keys():
        return sip.SIPStatusCode.Value(value)
    if path in _DURATIONS and isinstance(value, str):
        return format_duration(value)
    if path == "media.codecs" and isinstance(value, list):
        return [c["name"] if set(c) == {"name"} else c for c in value]
    return value


def format_duration(text: str) -> str:
    """A protobuf JSON duration (`3600s`, `0.500s`) as the spec writes it (`1h`, `500ms`)."""
    try:
        nanos = int(Decimal(text.removesuffix("s")) * 10**9)
    except ArithmeticError:
        return text
    if nanos == 0:
        return "0s"
    if nanos % 10**9:
        for unit, scale in (("ms", 10**6), ("us", 10**3), ("ns", 1)):
            if nanos < 10**9 and nanos % scale == 0:
                return f"{nanos // scale}{unit}"
        return f"{Decimal(nanos) / 10**9}s"
    hours, rest = divmod(nanos // 10**9, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)


def order_key(kind: str, path: str) -> tuple:
    """Sort key of a spec path: the spec's order of keys, unknown keys after, by name."""
    key: list[tuple] = []
    level = ORDER.get(kind, {})
    for part in path.split("."):
        names = list(level)
        key.append((names.index(part), "") if part in level else (len(names), part))
        level = level.get(part) or {}
    return tuple(key)
