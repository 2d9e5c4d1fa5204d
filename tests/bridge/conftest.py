"""A small UAS built only from the bridge's layers (transport, transactions, dialogs, SDP,
RTP), used by the socket tests and the SIPp end-to-end test."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

import pytest

from sipconf.bridge.clock import Clock, LoopClock
from sipconf.bridge.dialog import Dialog, new_tag
from sipconf.bridge.media import RtpSession
from sipconf.sip.message import Request, Response, make_response
from sipconf.sip.sdp import NoCommonCodec, SessionDescription, build_answer, negotiate
from sipconf.bridge.transaction import InviteServerTransaction, TransactionManager
from sipconf.bridge.transport import Limits, SipServer, Source


@dataclass
class Uas:
    """Answers INVITE with 200 + SDP (PCMU silence flowing), BYE/OPTIONS with 200,
    CANCEL with 200 + 487.  Records what it saw."""

    clock: Clock = field(default_factory=LoopClock)
    limits: Limits = field(default_factory=Limits)
    methods: list[str] = field(default_factory=list)
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    media: dict[str, RtpSession] = field(default_factory=dict)
    acks: int = 0
    byes: int = 0
    tasks: set[asyncio.Task] = field(default_factory=set)
    server: SipServer | None = None
    with_media: bool = True  # False: INVITEs are declined at once (no RTP sockets)

    async def __aenter__(self) -> Uas:
        self.manager = TransactionManager(self.clock)
        self.server = SipServer(self.handle, limits=self.limits, clock=self.clock)
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for rtp in self.media.values():
            rtp.close()
        assert self.server is not None
        await self.server.close()

    def handle(self, message: Request | Response, source: Source) -> None:
        if isinstance(message, Response):
            self.manager.receive_response(message)
            return
        delivery = self.manager.receive_request(message, source.send, source.reliable)
        if delivery is None:
            return
        request, tx = delivery.request, delivery.transaction
        self.methods.append(request.method)
        if request.method == "ACK":
            self.acks += 1
            return
        assert tx is not None
        if isinstance(tx, InviteServerTransaction):
            if not self.with_media:
                tx.respond(self._final(request, 603, "Decline"))
                return
            task = asyncio.get_running_loop().create_task(self._answer(request, tx))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        if request.method == "CANCEL":
            tx.respond(self._final(request, 200 if delivery.cancels else 481, "OK" if delivery.cancels else "Call/Transaction Does Not Exist"))
            if delivery.cancels is not None:
                delivery.cancels.respond(self._final(delivery.cancels.request, 487, "Request Terminated"))
            return
        if request.method == "BYE":
            self.byes += 1
            rtp = self.media.pop(request.call_id, None)
            if rtp is not None:
                rtp.close()
        tx.respond(self._final(request, 200, "OK"))

    def _final(self, request: Request, status: int, reason: str, tag: str = "uas") -> Response:
        response = make_response(request, status, reason, to_tag=tag)
        response.add("Content-Length", "0")
        return response

    async def _answer(self, invite: Request, tx: InviteServerTransaction) -> None:
        try:
            answer = negotiate(SessionDescription.parse(invite.body))
        except NoCommonCodec:
            tx.respond(self._final(invite, 488, "Not Acceptable Here"))
            return
        except ValueError:
            tx.respond(self._final(invite, 400, "Bad Request"))
            return
        rtp = RtpSession(self.clock)
        port = await rtp.open()
        self.media[invite.call_id] = rtp
        rtp.start((answer.remote_address or "127.0.0.1", answer.remote_port), answer.codec.payload_type, answer.event_payload_type)
        tag = new_tag()
        ok = make_response(invite, 200, "OK", to_tag=tag)
        assert self.server is not None
        host, sip_port = self.server.udp_address
        contact = f"<sip:uas@{host}:{sip_port}>"
        ok.add("Contact", contact)
        ok.set_body(bytes(build_answer(answer, "127.0.0.1", port)), "application/sdp")
        self.dialogs[invite.call_id] = Dialog.from_uas(invite, ok, local_contact=contact)
        tx.respond(ok)


@pytest.fixture
def free_port():
    def allocate(kind: int = socket.SOCK_DGRAM) -> int:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    return allocate


def options(call_id: str, branch: str = "z9hG4bKopt", transport: str = "UDP", port: int = 5999) -> bytes:
    """An OPTIONS; over UDP its Via asks for rport (RFC 3581), so that the answer reaches the
    sending socket whatever `port` the Via names (RFC 3261 18.2.2)."""
    rport = ";rport" if transport == "UDP" else ""
    return (
        f"OPTIONS sip:uas@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:{port};branch={branch}{rport}\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:uas@127.0.0.1>\r\nCall-ID: {call_id}\r\n"
        f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


@pytest.fixture
def make_options():
    return options
