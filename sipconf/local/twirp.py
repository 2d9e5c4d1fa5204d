"""Twirp wire encoding: request decoding, response encoding and JSON error bodies.

docs/livekit.md#api-errors: bodies are protobuf (`application/protobuf`, what livekit-api sends) or
JSON (protojson with unknown fields discarded); success is exactly HTTP 200; errors are
always `{"code", "msg"[, "meta"]}` JSON with the status from Twirp's code table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from sipconf.routing.errors import LiveKitError

# Twirp v8 ServerHTTPStatusFromErrorCode (docs/livekit.md#api-errors).
HTTP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
}

# psrpc codes that Twirp spells differently (protocol utils/xtwirp/errors.go).
_PSRPC_TO_TWIRP = {"malformed_request": "malformed", "": "unknown"}

PROTOBUF, JSON = "application/protobuf", "application/json"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, content type and body bytes."""

    status: int
    content_type: str
    body: bytes


def twirp_code(code: str) -> str:
    code = _PSRPC_TO_TWIRP.get(code, code)
    return code if code in HTTP_STATUS else "unknown"


def error_reply(err: LiveKitError) -> Reply:
    """The Twirp JSON error body; `meta` values must be strings and are left out when empty."""
    code = twirp_code(err.code)
    body: dict[str, object] = {"code": code, "msg": err.message}
    if err.meta:
        body["meta"] = {str(k): str(v) for k, v in err.meta.items()}
    return Reply(HTTP_STATUS[code], JSON, json.dumps(body).encode())


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode(content_type: str | None, body: bytes, cls: type[Message], route: str) -> Message:
    """Parse the request body as Twirp does; raises LiveKitError (bad_route / malformed)."""
    kind = media_type(content_type)
    msg = cls()
    if kind == PROTOBUF:
        try:
            msg.ParseFromString(body)
        except DecodeError:
            raise LiveKitError("malformed", "the protobuf request could not be decoded") from None
        return msg
    if kind == JSON:
        try:
            json_format.Parse(body or b"{}", msg, ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError, ValueError, RecursionError):
            raise LiveKitError("malformed", "the json request could not be decoded") from None
        return msg
    raise LiveKitError("bad_route", f"unexpected Content-Type: {json.dumps(content_type or '')}", {"twirp_invalid_route": route})


MAX_INT_DIGITS = 20  # any integer field fits; longer numbers are refused before Python builds them


def decode_json_object(body: bytes) -> dict:
    """A plain JSON object body (the `sipconf.Local` service). Not JSON -> `malformed`; JSON
    nested too deeply or with an integer of more than MAX_INT_DIGITS digits -> `invalid_argument`
    (Python would otherwise raise RecursionError, or spend time building a huge number)."""
    try:
        value = json.loads(body or b"{}", parse_int=_bounded_int)
    except RecursionError:
        raise LiveKitError("invalid_argument", "the json request is nested too deeply") from None
    except _NumberTooLong:
        raise LiveKitError("invalid_argument", f"the json request has an integer of more than {MAX_INT_DIGITS} digits") from None
    except (ValueError, UnicodeDecodeError):
        raise LiveKitError("malformed", "the json request could not be decoded") from None
    if not isinstance(value, dict):
        raise LiveKitError("malformed", "the json request could not be decoded")
    return value


class _NumberTooLong(Exception):
    pass


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NumberTooLong
    return int(text)


def encode(msg: Message, content_type: str) -> Reply:
    """HTTP 200 in the request's encoding; JSON mirrors Twirp's UseProtoNames + EmitUnpopulated."""
    if content_type == JSON:
        text = json_format.MessageToJson(msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        return Reply(200, JSON, text.encode())
    return Reply(200, PROTOBUF, msg.SerializeToString())
