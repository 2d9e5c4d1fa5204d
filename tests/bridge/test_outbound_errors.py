"""Outbound dialling failures raised by asyncio and the socket layer: the bridge translates
them into the Go errors `invite_errors` classifies (its context and net error rows), on
their own and on a real refused TCP connection."""

from __future__ import annotations

import asyncio
import socket

import pytest
from livekit.protocol import sip as sip_pb

from sipconf.bridge.calls.outbound import dialling_error
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.conformance.memory_ports import MemoryControlPlane
from sipconf.outbound import invite_errors
from sipconf.routing.errors import LiveKitError

# (raised while dialling, the kind it becomes, termination, call status, reason, reported, gRPC code)
IO_ROWS = [
    (TimeoutError(), invite_errors.ContextDeadlineExceeded, "server_error:deadline-exceeded", "dropped",
     "UNKNOWN_REASON", True, "DeadlineExceeded"),
    (asyncio.TimeoutError(), invite_errors.ContextDeadlineExceeded, "server_error:deadline-exceeded", "dropped",
     "UNKNOWN_REASON", True, "DeadlineExceeded"),
    (asyncio.CancelledError(), invite_errors.ContextCanceled, "client_error:canceled", "rejected",
     "USER_UNAVAILABLE", False, "Canceled"),
    (socket.gaierror(-2, "Name or service not known"), invite_errors.NetDNSError, "client_error:dns-resolution",
     "dropped", "SIP_TRUNK_FAILURE", True, "InvalidArgument"),
    (ConnectionRefusedError(111, "Connection refused"), invite_errors.NetOpError, "server_error:network-error",
     "dropped", "SIP_TRUNK_FAILURE", True, "Unavailable"),
    (OSError(99, "Cannot assign requested address"), invite_errors.NetOpError, "server_error:network-error",
     "dropped", "SIP_TRUNK_FAILURE", True, "Unavailable"),
]


@pytest.mark.parametrize(("raised", "kind", "term", "status", "reason", "reported", "grpc"), IO_ROWS,
                         ids=[type(row[0]).__name__ for row in IO_ROWS])
def test_io_errors_become_the_go_error_of_the_same_meaning(raised, kind, term, status, reason, reported, grpc) -> None:
    translated = dialling_error(raised)
    assert type(translated) is kind
    assert translated.__cause__ is raised
    verdict = invite_errors.classify_invite_error(translated)
    assert (verdict.termination, verdict.call_status, verdict.disconnect_reason, verdict.report_error) == (
        term, status, reason, reported)
    assert invite_errors.grpc_code_of(verdict.return_error) == grpc


def test_network_texts_are_kept() -> None:
    assert str(dialling_error(socket.gaierror(-2, "Name or service not known"))) == "[Errno -2] Name or service not known"
    assert str(dialling_error(ConnectionRefusedError(111, "Connection refused"))) == "[Errno 111] Connection refused"
    assert str(dialling_error(TimeoutError())) == "context deadline exceeded"
    assert str(dialling_error(asyncio.CancelledError())) == "context canceled"


@pytest.mark.parametrize("err", [
    invite_errors.SIPRequestTimeout(),
    invite_errors.WrappedError("INVITE failed", invite_errors.NetOpError("dial tcp: connection refused")),
    ValueError("bad SDP"),
    Exception("something broke"),
])
def test_other_errors_pass_unchanged(err) -> None:
    assert dialling_error(err) is err


def test_python_io_errors_alone_are_not_classified_as_network_errors() -> None:
    # The classification sees only the translated kinds; the raw exception is an unknown failure.
    assert invite_errors.classify_invite_error(ConnectionRefusedError(111, "refused")).termination == \
        "server_error:invite-failed"


def test_refused_tcp_connection_fails_the_call_as_a_network_error(free_port) -> None:
    closed = free_port(socket.SOCK_STREAM)  # bound, then released: nothing listens there

    async def main() -> LiveKitError:
        control_plane = MemoryControlPlane()
        async with Bridge(control_plane.ports, clock=ManualClock()) as bridge:
            control_plane.directory.put(sip_pb.SIPOutboundTrunkInfo(
                sip_trunk_id="ST_refusedtcp001", name="refused", address=f"127.0.0.1:{closed}",
                numbers=["+15550003333"], transport=sip_pb.SIP_TRANSPORT_TCP))
            req = sip_pb.CreateSIPParticipantRequest(
                sip_trunk_id="ST_refusedtcp001", sip_call_to="+15550004444", room_name="refused",
                participant_identity="callee", wait_until_answered=True)
            with pytest.raises(LiveKitError) as raised:
                await bridge.create_sip_participant(req)
            return raised.value

    err = asyncio.run(main())
    assert err.code == "unavailable"  # server_error:network-error, before any INVITE went out
    assert err.message == f"[Errno 111] Connect call failed ('127.0.0.1', {closed})"
