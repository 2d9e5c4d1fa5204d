"""Why an outbound INVITE failed, and what LiveKit does about it (docs/livekit.md#dialling and
#invite-errors).

The bridge raises these errors while dialling; `classify_invite_error` turns any of them
(however wrapped) into the call status, the termination bucket, the participant's
disconnect reason, whether the error is reported on the call, and the error the API
returns. Wrapping follows Go's `%w`: `WrappedError(prefix, cause)`, Python's `raise ...
from cause`, and `psrpc_error(code, cause)` are all seen through.

Only these error kinds are classified: what asyncio and the socket layer raise is the
bridge's to translate into them (Go's context and `net` errors of the same meaning), so
this module stays free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

from sipconf.routing import errors
from sipconf.routing.errors import LiveKitError
from sipconf.sip.gostr import parse_decimal
from sipconf.outbound.sipstatus import GRPC_BY_PSRPC, TWIRP_BY_GRPC, SIPStatus, sip_status_to_grpc

# Call statuses (how the call ends in call state).
REJECTED = "rejected"
UNAVAILABLE = "unavailable"
DROPPED = "dropped"

# Termination results (the SLI bucket before the `:`).
CLIENT_ERROR = "client_error"
SERVER_ERROR = "server_error"
UPSTREAM_ERROR = "upstream_error"
INDETERMINATE = "indeterminate"


# ---- wrapping ---------------------------------------------------------------------------


class WrappedError(Exception):
    """Go's `fmt.Errorf("<prefix>: %w", cause)`: adds context, keeps the cause findable."""

    def __init__(self, prefix: str, cause: BaseException) -> None:
        super().__init__(f"{prefix}: {cause}")
        self.prefix = prefix
        self.cause = cause


def psrpc_error(code: str, cause: BaseException) -> LiveKitError:
    """`psrpc.NewError(code, cause)`: the cause's text under a psrpc code, cause kept."""
    err = LiveKitError(code, str(cause))
    err.__cause__ = cause
    return err


def causes(err: BaseException) -> Iterator[BaseException]:
    """`err` and everything it wraps, outermost first (Go's `errors.As` order)."""
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        nxt = getattr(cur, "cause", None)
        cur = nxt if isinstance(nxt, BaseException) else cur.__cause__


def find(err: BaseException, kind: type | tuple[type, ...]) -> BaseException | None:
    for e in causes(err):
        if isinstance(e, kind):
            return e
    return None


# ---- the errors the bridge raises -------------------------------------------------------


class SDPError(Exception):
    """The answer SDP could not be used. `kind`: NO_COMMON_MEDIA, NO_COMMON_CRYPTO, OTHER."""

    NO_COMMON_MEDIA = "no_common_media"
    NO_COMMON_CRYPTO = "no_common_crypto"
    OTHER = "other"
    _DEFAULT_TEXT = {
        NO_COMMON_MEDIA: "common audio codec not found",
        NO_COMMON_CRYPTO: "no common encryption profile",
        OTHER: "bad sdp",
    }

    def __init__(self, kind: str, message: str = "") -> None:
        if kind not in self._DEFAULT_TEXT:
            raise ValueError(f"unknown SDP error kind {kind!r}")
        super().__init__(message or self._DEFAULT_TEXT[kind])
        self.kind = kind


class TransactionEnded(Exception):
    """The INVITE client transaction ended (Timer B) with no final response, after
    `provisional_responses` 1xx responses."""

    def __init__(self, provisional_responses: int) -> None:
        super().__init__(f"transaction failed to complete ({provisional_responses} intermediate responses)")
        self.provisional_responses = provisional_responses


class CarrierBlocked(Exception):
    """A carrier permanently refused the call (Twilio `X-Twilio-Error: 32203 ...`).

    Wraps the response's SIP status so the code is still recorded and mapped at the API.
    """

    def __init__(self, status: SIPStatus, provider: str, provider_code: int) -> None:
        super().__init__(f"carrier blocked call ({provider} error {provider_code}): {status}")
        self.status = status
        self.provider = provider
        self.provider_code = provider_code
        self.cause = status


class SIPRequestTimeout(Exception):
    """No final response within `ringing_timeout`: LiveKit CANCELs (docs/livekit.md#dialling)."""

    def __init__(self) -> None:
        super().__init__("sip request timed out")


class AuthMaxRetry(Exception):
    def __init__(self) -> None:
        super().__init__("max auth retry attempts reached for SIP invite")


class AuthMissingCredentials(Exception):
    def __init__(self) -> None:
        super().__init__("sip server required auth, but no username or password was provided")


class AuthNoChallenge(Exception):
    def __init__(self) -> None:
        super().__init__("no auth header in sip invite response")


class ContextDeadlineExceeded(Exception):
    """Go `context.DeadlineExceeded`: the dialling ran out of time."""

    def __init__(self) -> None:
        super().__init__("context deadline exceeded")


class ContextCanceled(Exception):
    """Go `context.Canceled`: the dialling was called off."""

    def __init__(self) -> None:
        super().__init__("context canceled")


class NetAddressError(Exception):
    """Go `*net.AddrError`: the destination address itself is malformed."""


class NetDNSError(Exception):
    """Go `*net.DNSError`: the destination host name did not resolve."""


class NetOpError(Exception):
    """Go `*net.OpError`: a dial/read/write on the network failed."""


_AUTH_FAILURES = (AuthMaxRetry, AuthMissingCredentials, AuthNoChallenge)


# ---- classification ---------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """The verdict of docs/livekit.md#invite-errors. `report` is the error recorded on the call
    (None: not reported)."""

    call_status: str
    termination: str  # "<result>:<reason>"
    disconnect_reason: str  # livekit DisconnectReason enum name
    report: BaseException | None
    return_error: BaseException

    @property
    def report_error(self) -> bool:
        return self.report is not None

    @property
    def term_result(self) -> str:
        return self.termination.partition(":")[0]


def _sip_status_row(code: int, text: str) -> tuple[str, str, str, bool]:
    """The rows for an error carrying SIP status `code`: (status, term, reason, reported)
    (docs/livekit.md#invite-errors)."""
    fixed = {
        401: (REJECTED, "client_error:auth-required", "USER_REJECTED", False),
        407: (REJECTED, "client_error:auth-required", "USER_REJECTED", False),
        403: (REJECTED, "client_error:forbidden", "USER_REJECTED", False),
        404: (UNAVAILABLE, "client_error:not-found", "USER_UNAVAILABLE", False),
        408: (UNAVAILABLE, "client_error:request-timeout", "USER_UNAVAILABLE", False),
        480: (UNAVAILABLE, "client_error:unavailable", "USER_UNAVAILABLE", False),
        486: (REJECTED, "client_error:busy", "USER_REJECTED", False),
        488: (REJECTED, "client_error:not-acceptable", "USER_REJECTED", False),
    }
    if code in fixed:
        return fixed[code]
    if 400 <= code < 500:
        return REJECTED, f"client_error:client-error-{code}", "USER_UNAVAILABLE", False
    if 500 <= code < 600:
        # A trunk's own CPS / concurrency cap comes back as 5xx (Twilio); it is the
        # customer's limit, not upstream breakage, so it is a client error, still reported.
        body = text.lower()
        if "cps limit exceeded" in body:
            return REJECTED, "client_error:cps-limit-exceeded", "SIP_TRUNK_FAILURE", True
        if "concurrent call limit exceeded" in body:
            return REJECTED, "client_error:concurrent-limit-exceeded", "SIP_TRUNK_FAILURE", True
        return DROPPED, f"upstream_error:upstream-server-error-{code}", "SIP_TRUNK_FAILURE", True
    if 600 <= code < 700:
        return REJECTED, f"client_error:global-decline-{code}", "USER_REJECTED", False
    return DROPPED, "server_error:invite-failed", "UNKNOWN_REASON", True


def _classify(err: BaseException) -> Classification:
    def verdict(status: str, term: str, reason: str, reported: bool, ret: BaseException = err) -> Classification:
        return Classification(status, term, reason, err if reported else None, ret)

    # Self-classifying errors first: the outermost one found decides (Go `errors.As`).
    for e in causes(err):
        if isinstance(e, SDPError):
            term = {
                SDPError.NO_COMMON_MEDIA: "client_error:no-common-codec",
                SDPError.NO_COMMON_CRYPTO: "client_error:encryption-required",
            }.get(e.kind, "client_error:sdp-error")
            return Classification(REJECTED, term, "MEDIA_FAILURE", e, e)
        if isinstance(e, TransactionEnded):
            # 0 provisionals: silent after transmit, unattributable; >0: the path works,
            # the far end never completed.
            term = "client_error:no-final-response" if e.provisional_responses > 0 else "indeterminate:upstream-no-response"
            return Classification(UNAVAILABLE, term, "SIP_TRUNK_FAILURE", e, psrpc_error(errors.CANCELED, e))
        if isinstance(e, CarrierBlocked):
            return Classification(REJECTED, "client_error:carrier-blocked", "USER_REJECTED", e, e.status)

    status = find(err, SIPStatus)
    if isinstance(status, SIPStatus):
        return verdict(*_sip_status_row(status.code, status.status))
    if find(err, SIPRequestTimeout):
        return verdict(UNAVAILABLE, "client_error:no-answer", "USER_UNAVAILABLE", False)
    # Context before net errors: an op error can wrap a context error, which says more.
    if find(err, ContextDeadlineExceeded):
        return verdict(DROPPED, "server_error:deadline-exceeded", "UNKNOWN_REASON", True,
                       psrpc_error(errors.DEADLINE_EXCEEDED, err))
    if find(err, ContextCanceled):
        return verdict(REJECTED, "client_error:canceled", "USER_UNAVAILABLE", False, psrpc_error(errors.CANCELED, err))
    if find(err, NetAddressError):
        return verdict(DROPPED, "client_error:address-error", "SIP_TRUNK_FAILURE", True,
                       psrpc_error(errors.INVALID_ARGUMENT, err))
    if find(err, NetDNSError):
        return verdict(DROPPED, "client_error:dns-resolution", "SIP_TRUNK_FAILURE", True,
                       psrpc_error(errors.INVALID_ARGUMENT, err))
    if find(err, NetOpError):
        return verdict(DROPPED, "server_error:network-error", "SIP_TRUNK_FAILURE", True,
                       psrpc_error(errors.UNAVAILABLE, err))
    if find(err, _AUTH_FAILURES):
        return verdict(REJECTED, "client_error:auth-failed", "USER_REJECTED", True)
    return verdict(DROPPED, "server_error:invite-failed", "UNKNOWN_REASON", True)


def classify_invite_error(err: BaseException, after_invite_sent: bool = False) -> Classification:
    """Classify an outbound INVITE failure (docs/livekit.md#invite-errors).

    After the INVITE went out, a `server_error:*` verdict returns FailedPrecondition so a
    retrying SDK does not place a duplicate call; other verdicts are unchanged.
    """
    c = _classify(err)
    if after_invite_sent and c.term_result == SERVER_ERROR:
        ret = psrpc_error(errors.FAILED_PRECONDITION, c.return_error)
        c = Classification(c.call_status, c.termination, c.disconnect_reason, c.report, ret)
    return c


def grpc_code_of(err: BaseException) -> str:
    """The gRPC code name an error surfaces with (`psrpc.GetErrorCode`).

    The outermost coded error decides: a psrpc error's code, a SIP status by its table
    (docs/livekit.md#sip-status-codes), an SDP error FailedPrecondition; a plain error is Unknown.
    """
    for e in causes(err):
        if isinstance(e, LiveKitError):
            return GRPC_BY_PSRPC.get(e.code, "Unknown")
        if isinstance(e, SIPStatus):
            return e.grpc_code
        if isinstance(e, SDPError):
            return "FailedPrecondition"
    return "Unknown"


def api_error(err: BaseException) -> LiveKitError:
    """The error the API returns for `err` (the end of docs/livekit.md#invite-errors).

    An error carrying a SIP status is re-coded by its SIP status (#sip-status-codes) and gets twirp
    meta `sip_status_code`, `sip_status` and `error_details` (the full error text).
    """
    status = find(err, SIPStatus)
    if isinstance(status, SIPStatus):
        _, twirp, _ = sip_status_to_grpc(status.code, status.status)
        meta = status.twirp_meta() | {"error_details": str(err)}
        return LiveKitError(twirp or errors.UNKNOWN, str(err), meta)
    if isinstance(err, LiveKitError):
        return err
    return LiveKitError(TWIRP_BY_GRPC.get(grpc_code_of(err)) or errors.UNKNOWN, str(err))


# ---- building the errors from a response (docs/livekit.md#dialling) --------------------------

TWILIO_ERROR_HEADER = "X-Twilio-Error"
# Twilio codes for a permanent carrier (fraud / regulatory) block; only this one so far.
TWILIO_PERMANENT_BLOCK_CODES = frozenset({32203})
# Final statuses reported as `INVITE failed` with the most specific text available.
_INVITE_FAILED_CODES = frozenset({400, 404, 480, 486, 488})


def parse_leading_provider_code(value: str) -> int:
    """The leading integer of a provider error header (`32203 Call blocked` -> 32203), else 0.

    Go `strings.Fields` then `strconv.Atoi` on the first field (sign allowed).
    """
    fields = value.split()
    if not fields:
        return 0
    try:
        return parse_decimal(fields[0])
    except ValueError:
        return 0


def header_value(headers: Mapping[str, str] | list[tuple[str, str]], name: str) -> str | None:
    """The first value of header `name` (names are case-insensitive), or None."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key.lower() == name.lower():
            return value
    return None


def carrier_block_from_response(
    status: int | SIPStatus, reason: str, headers: Mapping[str, str] | list[tuple[str, str]]
) -> CarrierBlocked | None:
    """A `CarrierBlocked` if the response carries a permanent-block provider code, else None.

    `status` is the response code (or the SIPStatus already built for it, which is kept).
    """
    value = header_value(headers, TWILIO_ERROR_HEADER)
    if value is None:
        return None
    code = parse_leading_provider_code(value)
    if code in TWILIO_PERMANENT_BLOCK_CODES:
        st = status if isinstance(status, SIPStatus) else SIPStatus(status, reason)
        return CarrierBlocked(st, "twilio", code)
    return None


def invite_failure_error(
    status: int, reason: str, body: str = "", headers: Mapping[str, str] | list[tuple[str, str]] = ()
) -> WrappedError:
    """The error for a non-200 final response (docs/livekit.md#dialling) to the INVITE (401/407 are
    handled by the digest retry before this is reached).

    400/404/480/486/488 -> `INVITE failed: sip status: <code>: <text>` (text = body, else
    `X-Twilio-Error`, else reason); other finals -> `unexpected status from INVITE
    response: sip status: <code>: <reason>`; either way a Twilio permanent block first
    becomes `INVITE blocked by carrier: carrier blocked call (twilio error N): ...`.
    """
    if status in _INVITE_FAILED_CODES:
        text = body or header_value(headers, TWILIO_ERROR_HEADER) or reason
        prefix = "INVITE failed"
    else:
        text = reason
        prefix = "unexpected status from INVITE response"
    st = SIPStatus(status, text)
    block = carrier_block_from_response(st, text, headers)
    if block is not None:
        return WrappedError("INVITE blocked by carrier", block)
    return WrappedError(prefix, st)
