"""SIP status -> gRPC/twirp code, messages and twirp meta (docs/livekit.md#sip-status-codes and
#notify)."""

from __future__ import annotations

import pytest

from sipconf.outbound.sipstatus import (
    SIPStatus,
    grpc_code_for_sip,
    sip_status_error_text,
    sip_status_for_psrpc,
    sip_status_to_grpc,
    status_short_name,
)

TABLE = {
    "InvalidArgument": [300, 305, 380, 400, 405, 406, 411, 413, 414, 415, 417, 420, 421, 422, 423, 424, 425, 429,
                        430, 439, 469, 484, 485, 488, 489, 493, 505, 513, 606],
    "NotFound": [301, 302, 404, 410, 481, 604],
    "PermissionDenied": [401, 402, 403, 433, 470, 603, 607, 608],
    "Unauthenticated": [407, 428, 436, 437, 438, 494],
    "DeadlineExceeded": [408, 504],
    "FailedPrecondition": [409, 412, 482, 483, 500, 501, 502, 503],
    "OutOfRange": [416],
    "ResourceExhausted": [440, 480, 486, 600],
    "Aborted": [487, 491],
}


@pytest.mark.parametrize(("code", "grpc"), [(c, g) for g, codes in TABLE.items() for c in codes])
def test_table_rows(code: int, grpc: str) -> None:
    assert grpc_code_for_sip(code) == grpc


@pytest.mark.parametrize(
    ("code", "grpc"),
    [(100, "Unknown"), (183, "Unknown"), (200, "OK"), (299, "OK"), (399, "InvalidArgument"),
     (499, "InvalidArgument"), (599, "FailedPrecondition"), (699, "InvalidArgument"), (700, "Unknown")],
)
def test_ranges_outside_the_table(code: int, grpc: str) -> None:
    assert grpc_code_for_sip(code) == grpc


def test_messages() -> None:
    assert sip_status_to_grpc(486) == ("ResourceExhausted", "resource_exhausted", "sip status 486: BUSY_HERE")
    assert sip_status_to_grpc(486, "Busy") == ("ResourceExhausted", "resource_exhausted", "sip status 486: Busy")
    assert sip_status_to_grpc(404)[2] == "sip status 404: NOTFOUND"
    assert sip_status_to_grpc(481)[2] == "sip status 481: CALL_TRANSACTION_DOES_NOT_EXISTS"
    assert sip_status_to_grpc(499) == ("InvalidArgument", "invalid_argument", "sip status 499: 499")
    assert sip_status_to_grpc(200, "whatever") == ("OK", "", "OK")
    assert sip_status_to_grpc(100)[1] == "unknown"


def test_short_name_and_error_text() -> None:
    assert status_short_name(486) == "BUSY_HERE"
    assert status_short_name(799) == "799"
    assert sip_status_error_text(486, "Busy Here") == "sip status: 486: Busy Here"
    assert sip_status_error_text(486) == "sip status: 486 (BUSY_HERE)"


def test_sip_status_error_and_api_error() -> None:
    st = SIPStatus(480, "")
    assert str(st) == "sip status: 480 (TEMPORARILY_UNAVAILABLE)"
    assert st.twirp_meta() == {"sip_status_code": "480", "sip_status": "SIP_STATUS_TEMPORARILY_UNAVAILABLE"}
    assert sip_status_to_grpc(480, "Temporarily Unavailable") == (
        "ResourceExhausted", "resource_exhausted", "sip status 480: Temporarily Unavailable")
    assert SIPStatus(480, "Temporarily Unavailable").twirp_meta() == {
        "sip_status_code": "480", "sip_status": "Temporarily Unavailable"}


@pytest.mark.parametrize(
    ("code", "status"),
    [("invalid_argument", 400), ("malformed_request", 400), ("unimplemented", 501), ("not_found", 404),
     ("failed_precondition", 481), ("canceled", 408), ("deadline_exceeded", 408), ("permission_denied", 403),
     ("resource_exhausted", 480), ("unavailable", 503), ("unauthenticated", 401), ("already_exists", 409),
     ("aborted", 409), ("out_of_range", 416), ("internal", 500), ("", 500)],
)
def test_notify_answer_status_by_psrpc_code(code: str, status: int) -> None:
    assert sip_status_for_psrpc(code) == status
