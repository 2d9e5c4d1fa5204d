"""Field types of the spec that YAML has no word for: secrets, metadata, durations, numbers, masks.

Each is a pydantic type with one plain validator, so a wrong value gives one clear line at
the value's position instead of one line per member of a union.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from pydantic import AfterValidator, PlainValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError, PydanticKnownError

from sipconf.routing.masks import is_valid_mask, parse_prefix
from sipconf.spec.numbers import E164_RULE, NumberEntry, check_entry, parse_range

CUSTOM_PREFIX = "spec_"


def fail(code: str, message: str) -> NoReturn:
    """Raise a validation error carrying our own stable issue code (see diagnostics)."""
    raise PydanticCustomError(CUSTOM_PREFIX + code.replace("-", "_"), message)


@dataclass(frozen=True)
class SecretValue:
    """A secret as written: exactly one of env, file or literal."""

    env: str | None = None
    file: str | None = None
    literal: str | None = None


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def _secret(value: Any, info: ValidationInfo | None, *, what: str, code: str = "invalid-secret", literal_check=None) -> SecretValue:
    if isinstance(value, SecretValue):
        return value
    if isinstance(value, str):
        if literal_check is not None:
            literal_check(value)
        elif value and not (info and info.context and info.context.get("allow_literal_secrets")):
            # Secrets are references, never literals in git.
            fail("literal-secret", "literal secret: use {env: NAME} or {file: PATH} (or --allow-literal-secrets)")
        return SecretValue(literal=value)
    if isinstance(value, dict) and len(value) == 1:
        (key, ref), = value.items()
        if key == "env" and isinstance(ref, str):
            if not _ENV_NAME.fullmatch(ref):
                fail(code, f"invalid environment variable name '{ref}'")
            return SecretValue(env=ref)
        if key == "file" and isinstance(ref, str) and ref:
            return SecretValue(file=ref)
    fail(code, f"expected {what} or {{env: NAME}} or {{file: PATH}}, got {describe(value)}")


def _pin_digits(value: str) -> None:
    # A PIN is collected as DTMF digits until '#': only 0-9 can be typed
    # into it, so anything else would make the room unreachable.
    if not value or not value.isascii() or not value.isdigit():
        fail("invalid-pin", f"a PIN must be digits, got '{value}'")


def _secret_schema(literal: dict) -> dict:
    """JSON Schema of a secret: a literal string (`literal`) or exactly one reference."""
    return {
        "oneOf": [
            literal,
            {
                "type": "object",
                "properties": {"env": {"type": "string", "pattern": f"^{_ENV_NAME.pattern}$"}},
                "required": ["env"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"file": {"type": "string", "minLength": 1}},
                "required": ["file"],
                "additionalProperties": False,
            },
        ]
    }


Secret = Annotated[
    SecretValue,
    PlainValidator(lambda v, info: _secret(v, info, what="a string")),
    WithJsonSchema(_secret_schema({"type": "string"})),
]
Pin = Annotated[
    SecretValue,
    PlainValidator(lambda v, info: _secret(v, info, what="a quoted string of digits", code="invalid-pin", literal_check=_pin_digits)),
    WithJsonSchema(_secret_schema({"type": "string", "pattern": "^[0-9]+$"})),
]


def _metadata(value: Any) -> str:
    """Metadata is an opaque string to LiveKit; a mapping is written as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    raise ValueError(f"expected a string or a mapping, got {describe(value)}")


Metadata = Annotated[
    str,
    PlainValidator(_metadata),
    WithJsonSchema({"oneOf": [{"type": "string"}, {"type": "object"}]}),
]

# Go's time.ParseDuration units, which is how LiveKit and its users write durations.
_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")


@dataclass(frozen=True, order=True)
class Duration:
    """A non-negative duration in nanoseconds (protobuf Duration = seconds + nanos)."""

    nanos: int

    @property
    def seconds_nanos(self) -> tuple[int, int]:
        return divmod(self.nanos, 10**9)


def parse_duration(text: str) -> Duration:
    """`30s`, `1m30s`, `1.5h`, `250ms` (Go syntax, no sign: a negative timeout makes no sense)."""
    pos, total = 0, 0
    if not text:
        fail("invalid-duration", "a duration cannot be empty")
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            fail("invalid-duration", f"invalid duration '{text}': use a number and a unit, like 30s, 5m or 1h")
        number, unit = m.groups()
        whole, _, frac = number.partition(".")
        scale = _UNITS_NS[unit]
        total += int(whole or "0") * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
        pos = m.end()
    return Duration(total)


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"expected a duration string like '30s' or '1h', got {describe(value)}")


DurationField = Annotated[
    Duration,
    PlainValidator(_duration),
    WithJsonSchema({"type": "string", "pattern": f"^({_DURATION_PART.pattern})+$"}),
]


def _address_mask(value: str) -> str:
    """An `allowed_addresses` entry: IP, CIDR or hostname.

    LiveKit silently drops invalid masks and, with none left, lets every source in; a typo
    would open the trunk, so the spec refuses what LiveKit would ignore.
    """
    if not is_valid_mask(value) or not value:
        fail("invalid-address", f"invalid address '{value}': must not be empty or contain ( ) + * ; , spaces or ://")
    if "/" in value and parse_prefix(value) is None:
        fail("invalid-address", f"invalid CIDR '{value}': expected an IP address, '/' and a prefix length")
    return value


AddressMask = Annotated[str, AfterValidator(_address_mask)]


def _number_entry(value: Any) -> NumberEntry:
    if isinstance(value, NumberEntry):
        return value
    if isinstance(value, str):
        text, user = value, False
    elif isinstance(value, dict) and list(value) == ["user"]:
        text, user = value["user"], True
        if not isinstance(text, str):
            fail("invalid-value", f"expected a quoted name in {{user: NAME}}, got {describe(text)} (put it in quotes)")
    elif isinstance(value, dict):
        keys = ", ".join(f"'{k}'" for k in value) or "no keys"
        fail("invalid-value", f"expected a quoted E.164 number or {{user: NAME}}, got a mapping with {keys}")
    else:
        raise PydanticKnownError("string_type")  # "expected a string, got ... (put it in quotes)"
    try:
        return check_entry(text, user=user)
    except ValueError as exc:
        fail("invalid-number-range" if parse_range(text) else "invalid-number", str(exc))


_NUMBER_SCHEMA = {
    "oneOf": [
        {
            "type": "string",
            "description": f"{E164_RULE}, e.g. \"+15105550100\", or a range of them,"
                           " \"+15105550100..+15105550199\"",
        },
        {
            "type": "object",
            "description": "an extension or SIP user name that is not a phone number, kept as written,"
                           " e.g. {user: \"1001\"}, or a range of extensions, {user: \"1000..1099\"}",
            "properties": {"user": {"type": "string", "minLength": 1}},
            "required": ["user"],
            "additionalProperties": False,
        },
    ]
}
Number = Annotated[NumberEntry, PlainValidator(_number_entry), WithJsonSchema(_NUMBER_SCHEMA)]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*", re.ASCII)


def _name(value: str) -> str:
    # Names are identities in plan output and LiveKit lists: keep them to one plain token.
    if not _NAME.fullmatch(value):
        fail("invalid-name", f"invalid name '{value}': use letters, digits, '-', '_' and '.', starting with a letter or digit")
    return value


Name = Annotated[str, AfterValidator(_name), WithJsonSchema({"type": "string", "pattern": f"^{_NAME.pattern}$"})]


def describe(value: Any) -> str:
    """A YAML-level word for a value's type, for error text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
