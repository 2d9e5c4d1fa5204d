"""Outbound INVITE failures: error texts (docs/livekit.md#dialling) and classification (every
row of docs/livekit.md#invite-errors)."""

from __future__ import annotations

import pytest

from sipconf.outbound import invite_errors
from sipconf.routing.errors import LiveKitError
from sipconf.outbound.sipstatus import SIPStatus


def sip(code: int, text: str = "test") -> BaseException:
    return invite_errors.WrappedError("INVITE failed", SIPStatus(code, text))


def blocked() -> BaseException:
    return invite_errors.WrappedError("INVITE blocked by carrier", invite_errors.CarrierBlocked(SIPStatus(603, "Decline"), "twilio", 32203))


# (error, call_status, termination, disconnect_reason, reported, returned gRPC code)
ROWS = [
    (invite_errors.SDPError(invite_errors.SDPError.NO_COMMON_MEDIA), "rejected", "client_error:no-common-codec", "MEDIA_FAILURE", True, "FailedPrecondition"),
    (invite_errors.SDPError(invite_errors.SDPError.NO_COMMON_CRYPTO), "rejected", "client_error:encryption-required", "MEDIA_FAILURE", True, "FailedPrecondition"),
    (invite_errors.SDPError(invite_errors.SDPError.OTHER, "bad sdp"), "rejected", "client_error:sdp-error", "MEDIA_FAILURE", True, "FailedPrecondition"),
    (invite_errors.TransactionEnded(0), "unavailable", "indeterminate:upstream-no-response", "SIP_TRUNK_FAILURE", True, "Canceled"),
    (invite_errors.TransactionEnded(2), "unavailable", "client_error:no-final-response", "SIP_TRUNK_FAILURE", True, "Canceled"),
    (blocked(), "rejected", "client_error:carrier-blocked", "USER_REJECTED", True, "PermissionDenied"),
    (sip(401), "rejected", "client_error:auth-required", "USER_REJECTED", False, "PermissionDenied"),
    (sip(407), "rejected", "client_error:auth-required", "USER_REJECTED", False, "Unauthenticated"),
    (sip(403), "rejected", "client_error:forbidden", "USER_REJECTED", False, "PermissionDenied"),
    (sip(404), "unavailable", "client_error:not-found", "USER_UNAVAILABLE", False, "NotFound"),
    (sip(408), "unavailable", "client_error:request-timeout", "USER_UNAVAILABLE", False, "DeadlineExceeded"),
    (sip(480), "unavailable", "client_error:unavailable", "USER_UNAVAILABLE", False, "ResourceExhausted"),
    (sip(486), "rejected", "client_error:busy", "USER_REJECTED", False, "ResourceExhausted"),
    (sip(488), "rejected", "client_error:not-acceptable", "USER_REJECTED", False, "InvalidArgument"),
    (sip(410), "rejected", "client_error:client-error-410", "USER_UNAVAILABLE", False, "NotFound"),
    (sip(487), "rejected", "client_error:client-error-487", "USER_UNAVAILABLE", False, "Aborted"),
    (sip(503, "Trunk CPS Limit Exceeded. Region: us1"), "rejected", "client_error:cps-limit-exceeded", "SIP_TRUNK_FAILURE", True, "FailedPrecondition"),
    (sip(500, "Trunk concurrent call limit exceeded"), "rejected", "client_error:concurrent-limit-exceeded", "SIP_TRUNK_FAILURE", True, "FailedPrecondition"),
    (sip(502), "dropped", "upstream_error:upstream-server-error-502", "SIP_TRUNK_FAILURE", True, "FailedPrecondition"),
    (sip(603), "rejected", "client_error:global-decline-603", "USER_REJECTED", False, "PermissionDenied"),
    (sip(302), "dropped", "server_error:invite-failed", "UNKNOWN_REASON", True, "NotFound"),
    (sip(700), "dropped", "server_error:invite-failed", "UNKNOWN_REASON", True, "Unknown"),
    (invite_errors.psrpc_error("canceled", invite_errors.SIPRequestTimeout()), "unavailable", "client_error:no-answer", "USER_UNAVAILABLE", False, "Canceled"),
    (invite_errors.ContextDeadlineExceeded(), "dropped", "server_error:deadline-exceeded", "UNKNOWN_REASON", True, "DeadlineExceeded"),
    (invite_errors.ContextCanceled(), "rejected", "client_error:canceled", "USER_UNAVAILABLE", False, "Canceled"),
    (invite_errors.NetAddressError("missing port"), "dropped", "client_error:address-error", "SIP_TRUNK_FAILURE", True, "InvalidArgument"),
    (invite_errors.NetDNSError("no such host"), "dropped", "client_error:dns-resolution", "SIP_TRUNK_FAILURE", True, "InvalidArgument"),
    (invite_errors.NetOpError("connection refused"), "dropped", "server_error:network-error", "SIP_TRUNK_FAILURE", True, "Unavailable"),
    (invite_errors.psrpc_error("failed_precondition", invite_errors.AuthMaxRetry()), "rejected", "client_error:auth-failed", "USER_REJECTED", True, "FailedPrecondition"),
    (invite_errors.psrpc_error("failed_precondition", invite_errors.AuthMissingCredentials()), "rejected", "client_error:auth-failed", "USER_REJECTED", True, "FailedPrecondition"),
    (invite_errors.psrpc_error("failed_precondition", invite_errors.AuthNoChallenge()), "rejected", "client_error:auth-failed", "USER_REJECTED", True, "FailedPrecondition"),
    (Exception("something broke"), "dropped", "server_error:invite-failed", "UNKNOWN_REASON", True, "Unknown"),
]


@pytest.mark.parametrize(("err", "status", "term", "reason", "reported", "ret"), ROWS, ids=[r[2] + f"/{i}" for i, r in enumerate(ROWS)])
def test_classification_rows(err, status, term, reason, reported, ret) -> None:
    c = invite_errors.classify_invite_error(err)
    assert (c.call_status, c.termination, c.disconnect_reason, c.report_error) == (status, term, reason, reported)
    assert invite_errors.grpc_code_of(c.return_error) == ret


@pytest.mark.parametrize(("err", "status", "term", "reason", "reported", "ret"), ROWS, ids=[r[2] + f"/{i}" for i, r in enumerate(ROWS)])
def test_after_invite_only_server_errors_become_failed_precondition(err, status, term, reason, reported, ret) -> None:
    before = invite_errors.classify_invite_error(err)
    after = invite_errors.classify_invite_error(err, after_invite_sent=True)
    assert (after.call_status, after.termination, after.report_error) == (status, term, reported)
    if term.startswith("server_error:"):
        assert invite_errors.grpc_code_of(after.return_error) == "FailedPrecondition"
    else:
        assert after.return_error == before.return_error
        assert invite_errors.grpc_code_of(after.return_error) == ret


def test_wrapping_is_seen_through() -> None:
    inner = invite_errors.NetDNSError("no such host")
    try:
        try:
            raise inner
        except invite_errors.NetDNSError as exc:
            raise RuntimeError("dial failed") from exc
    except RuntimeError as outer:
        assert invite_errors.classify_invite_error(invite_errors.WrappedError("INVITE", outer)).termination == "client_error:dns-resolution"


def test_unchanged_returns_are_the_input_error() -> None:
    err = invite_errors.psrpc_error("canceled", invite_errors.SIPRequestTimeout())
    assert invite_errors.classify_invite_error(err).return_error is err
    plain = Exception("x")
    assert invite_errors.classify_invite_error(plain).return_error is plain
    assert invite_errors.classify_invite_error(plain).report is plain
    assert invite_errors.classify_invite_error(sip(486)).report is None


def test_psrpc_error_keeps_text_and_cause() -> None:
    cause = invite_errors.SIPRequestTimeout()
    err = invite_errors.psrpc_error("canceled", cause)
    assert (err.code, err.message, err.__cause__) == ("canceled", "sip request timed out", cause)


def test_error_texts() -> None:
    assert str(invite_errors.TransactionEnded(2)) == "transaction failed to complete (2 intermediate responses)"
    assert str(invite_errors.AuthMaxRetry()) == "max auth retry attempts reached for SIP invite"
    assert str(invite_errors.AuthMissingCredentials()) == "sip server required auth, but no username or password was provided"
    assert str(invite_errors.AuthNoChallenge()) == "no auth header in sip invite response"
    assert str(blocked()) == "INVITE blocked by carrier: carrier blocked call (twilio error 32203): sip status: 603: Decline"
    with pytest.raises(ValueError) as exc:
        invite_errors.SDPError("nope")
    assert str(exc.value) == "unknown SDP error kind 'nope'"


@pytest.mark.parametrize(
    ("status", "reason", "body", "headers", "text"),
    [
        (486, "Busy Here", "", {}, "INVITE failed: sip status: 486: Busy Here"),
        (404, "Not Found", "no such user", {"X-Twilio-Error": "13224 Invalid"}, "INVITE failed: sip status: 404: no such user"),
        (480, "Unavailable", "", {"x-twilio-error": "13224 Invalid"}, "INVITE failed: sip status: 480: 13224 Invalid"),
        (503, "Service Unavailable", "body", {}, "unexpected status from INVITE response: sip status: 503: Service Unavailable"),
        (603, "Decline", "", {"X-Twilio-Error": "32203 Call blocked as potential fraud"},
         "INVITE blocked by carrier: carrier blocked call (twilio error 32203): sip status: 603: Decline"),
        (486, "Busy", "", {"X-Twilio-Error": "32203 blocked"},
         "INVITE blocked by carrier: carrier blocked call (twilio error 32203): sip status: 486: 32203 blocked"),
    ],
)
def test_invite_failure_error(status, reason, body, headers, text) -> None:
    assert str(invite_errors.invite_failure_error(status, reason, body, headers)) == text


def test_carrier_block_from_response() -> None:
    assert invite_errors.carrier_block_from_response(603, "Decline", {}) is None
    assert invite_errors.carrier_block_from_response(486, "Busy", {"X-Twilio-Error": "13224 Invalid phone number"}) is None
    block = invite_errors.carrier_block_from_response(603, "Decline", [("x-TWILIO-error", "32203 fraud")])
    assert block is not None and block.status == SIPStatus(603, "Decline") and block.provider_code == 32203


@pytest.mark.parametrize(
    ("value", "code"),
    [("32203 Call blocked as potential fraud", 32203), ("32203", 32203), ("  32203  ", 32203), ("\t+7 x", 7),
     ("-5", -5), ("Decline", 0), ("", 0), ("blocked 32203", 0), ("0x10", 0), ("99999999999999999999", 0)],
)
def test_parse_leading_provider_code(value: str, code: int) -> None:
    assert invite_errors.parse_leading_provider_code(value) == code


def test_api_error() -> None:
    err = invite_errors.api_error(sip(486, "Busy Here"))
    assert (err.code, err.message) == ("resource_exhausted", "INVITE failed: sip status: 486: Busy Here")
    assert err.meta == {"sip_status_code": "486", "sip_status": "Busy Here",
                        "error_details": "INVITE failed: sip status: 486: Busy Here"}
    assert invite_errors.api_error(sip(486, "")).meta["sip_status"] == "SIP_STATUS_BUSY_HERE"
    assert invite_errors.api_error(Exception("boom")) == LiveKitError("unknown", "boom")
    timeout = invite_errors.psrpc_error("canceled", invite_errors.SIPRequestTimeout())
    assert invite_errors.api_error(timeout) is timeout
