"""SIP status codes as LiveKit reports them: gRPC/twirp codes, messages, twirp meta.

docs/livekit.md#sip-status-codes (`sip_status_to_grpc`) and #notify (the psrpc code -> SIP
status LiveKit answers a NOTIFY with). Short names come from `livekit.protocol.sip.SIPStatusCode`,
so a status LiveKit knows is named exactly as LiveKit names it.
"""

from __future__ import annotations

from livekit.protocol.sip import SIPStatusCode

from sipconf.routing import errors

# docs/livekit.md#sip-status-codes: explicit SIP code -> gRPC code table.
_GRPC_BY_SIP: dict[int, str] = {}
for _name, _codes in {
    "InvalidArgument": (300, 305, 380, 400, 405, 406, 411, 413, 414, 415, 417, 420, 421, 422, 423, 424,
                        425, 429, 430, 439, 469, 484, 485, 488, 489, 493, 505, 513, 606),
    "NotFound": (301, 302, 404, 410, 481, 604),
    "PermissionDenied": (401, 402, 403, 433, 470, 603, 607, 608),
    "Unauthenticated": (407, 428, 436, 437, 438, 494),
    "DeadlineExceeded": (408, 504),
    "FailedPrecondition": (409, 412, 482, 483, 500, 501, 502, 503),
    "OutOfRange": (416,),
    "ResourceExhausted": (440, 480, 486, 600),
    "Aborted": (487, 491),
}.items():
    for _code in _codes:
        _GRPC_BY_SIP[_code] = _name

# gRPC code name -> twirp error code (lower-case on the wire). OK has no twirp code.
TWIRP_BY_GRPC: dict[str, str] = {
    "OK": "",
    "Canceled": errors.CANCELED,
    "Unknown": errors.UNKNOWN,
    "InvalidArgument": errors.INVALID_ARGUMENT,
    "DeadlineExceeded": errors.DEADLINE_EXCEEDED,
    "NotFound": errors.NOT_FOUND,
    "AlreadyExists": errors.ALREADY_EXISTS,
    "PermissionDenied": errors.PERMISSION_DENIED,
    "ResourceExhausted": errors.RESOURCE_EXHAUSTED,
    "FailedPrecondition": errors.FAILED_PRECONDITION,
    "Aborted": errors.ABORTED,
    "OutOfRange": errors.OUT_OF_RANGE,
    "Unimplemented": errors.UNIMPLEMENTED,
    "Internal": errors.INTERNAL,
    "Unavailable": errors.UNAVAILABLE,
    "DataLoss": "dataloss",
    "Unauthenticated": errors.UNAUTHENTICATED,
}

# psrpc / twirp code -> gRPC code name (psrpc's `malformed_request` is InvalidArgument).
GRPC_BY_PSRPC: dict[str, str] = {v: k for k, v in TWIRP_BY_GRPC.items() if v}
GRPC_BY_PSRPC[errors.MALFORMED_REQUEST] = "InvalidArgument"
GRPC_BY_PSRPC[""] = "Unknown"

# docs/livekit.md#notify: the SIP status LiveKit answers a NOTIFY with, by psrpc code of the error.
_SIP_BY_PSRPC: dict[str, int] = {
    errors.INVALID_ARGUMENT: 400,
    errors.MALFORMED_REQUEST: 400,
    errors.UNIMPLEMENTED: 501,
    errors.NOT_FOUND: 404,
    errors.FAILED_PRECONDITION: 481,
    errors.CANCELED: 408,
    errors.DEADLINE_EXCEEDED: 408,
    errors.PERMISSION_DENIED: 403,
    errors.RESOURCE_EXHAUSTED: 480,
    errors.UNAVAILABLE: 503,
    errors.UNAUTHENTICATED: 401,
    errors.ALREADY_EXISTS: 409,
    errors.ABORTED: 409,
    errors.OUT_OF_RANGE: 416,
}


def status_enum_name(code: int) -> str:
    """The full `SIPStatusCode` name (`SIP_STATUS_BUSY_HERE`), or the decimal code (Go's
    `String()` of an enum value it does not know)."""
    try:
        return SIPStatusCode.Name(code)
    except ValueError:
        return str(code)


def status_short_name(code: int) -> str:
    """`SIPStatusCode.ShortName()`: the enum name minus `SIP_STATUS_` (`NOTFOUND`)."""
    return status_enum_name(code).removeprefix("SIP_STATUS_")


def grpc_code_for_sip(code: int) -> str:
    """The gRPC code name LiveKit gives an error carrying SIP status `code`
    (docs/livekit.md#sip-status-codes)."""
    if code in _GRPC_BY_SIP:
        return _GRPC_BY_SIP[code]
    if code < 200:
        return "Unknown"  # 1xx is not a final response
    if code < 300:
        return "OK"
    if code < 500:
        return "InvalidArgument"
    if code < 600:
        return "FailedPrecondition"  # 5xx from the remote server
    if code < 700:
        return "InvalidArgument"  # as 4xx, but authoritative
    return "Unknown"


def sip_status_to_grpc(code: int, text: str = "") -> tuple[str, str, str]:
    """`(grpc_code_name, twirp_code, message)` for SIP status `code` with `text`
    (docs/livekit.md#sip-status-codes).

    The message is `sip status <code>: <text or short name>`, or exactly `OK` for 2xx
    codes (which LiveKit maps to no error at all; twirp code "").
    """
    grpc = grpc_code_for_sip(code)
    if grpc == "OK":
        return grpc, "", "OK"
    return grpc, TWIRP_BY_GRPC[grpc], f"sip status {code}: {text or status_short_name(code)}"


def sip_status_error_text(code: int, text: str = "") -> str:
    """`SIPStatus.Error()`: `sip status: <code>: <text>` or `sip status: <code> (<short>)`."""
    if text:
        return f"sip status: {code}: {text}"
    return f"sip status: {code} ({status_short_name(code)})"


class SIPStatus(Exception):
    """A SIP final status carried as an error (LiveKit's `*livekit.SIPStatus`)."""

    def __init__(self, code: int, status: str = "") -> None:
        super().__init__(sip_status_error_text(code, status))
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return sip_status_error_text(self.code, self.status)

    def __repr__(self) -> str:
        return f"SIPStatus({self.code!r}, {self.status!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SIPStatus) and (self.code, self.status) == (other.code, other.status)

    def __hash__(self) -> int:
        return hash((self.code, self.status))

    @property
    def grpc_code(self) -> str:
        return grpc_code_for_sip(self.code)

    def twirp_meta(self) -> dict[str, str]:
        """`TwirpErrorMeta()`: the code in decimal and the text, or the full enum name."""
        return {"sip_status_code": str(self.code), "sip_status": self.status or status_enum_name(self.code)}


def sip_status_for_psrpc(code: str) -> int:
    """The SIP status LiveKit answers a NOTIFY with for an error of psrpc `code` (else 500;
    docs/livekit.md#notify)."""
    return _SIP_BY_PSRPC.get(code, 500)
