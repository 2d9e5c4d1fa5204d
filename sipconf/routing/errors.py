"""LiveKit's error values: a twirp/psrpc code plus LiveKit's exact message text."""

from __future__ import annotations

from dataclasses import dataclass, field

# Twirp / psrpc error codes, lower-case as they travel on the wire.
INVALID_ARGUMENT = "invalid_argument"
MALFORMED_REQUEST = "malformed_request"
FAILED_PRECONDITION = "failed_precondition"
PERMISSION_DENIED = "permission_denied"
NOT_FOUND = "not_found"
ALREADY_EXISTS = "already_exists"
UNAUTHENTICATED = "unauthenticated"
UNIMPLEMENTED = "unimplemented"
UNAVAILABLE = "unavailable"
RESOURCE_EXHAUSTED = "resource_exhausted"
DEADLINE_EXCEEDED = "deadline_exceeded"
CANCELED = "canceled"
ABORTED = "aborted"
OUT_OF_RANGE = "out_of_range"
INTERNAL = "internal"
UNKNOWN = "unknown"


@dataclass(eq=True)
class LiveKitError(Exception):
    """An error exactly as LiveKit reports it.

    `code` is the lower-case twirp/psrpc code ("" for a plain Go error, which the API
    reports as `invalid_argument` on create/update paths); `message` is LiveKit's text
    without any `twirp error <code>:` prefix. `meta` carries twirp metadata such as
    `sip_status_code`.
    """

    code: str
    message: str
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
