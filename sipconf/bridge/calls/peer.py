"""A scripted SIP endpoint on 127.0.0.1 (UDP): the far end the conformance flows and the
tests drive the bridge with. It speaks through the same message, dialog and SDP modules,
answers nothing on its own, and records every message it receives.
"""

from __future__ import annotations

import asyncio
import secrets

from sipconf.sip import sdp
from sipconf.bridge.dialog import Dialog
from sipconf.sip.message import Message, Request, Response, make_response, parse
from sipconf.sip.rtp import RtpPacket, TelephoneEvent
from sipconf.sip.dtmf import DtmfReceiver
from sipconf.bridge.transaction import new_branch

# RFC 3261 21: reason phrases the peer uses in responses and sipfrag bodies.
REASONS = {100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 202: "Accepted",
           400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
           480: "Temporarily Unavailable", 486: "Busy Here", 487: "Request Terminated",
           488: "Not Acceptable Here", 500: "Server Internal Error", 503: "Service Unavailable",
           603: "Decline"}


def reason_for(status: int) -> str:
    return REASONS.get(status, "Status")


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, owner) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr) -> None:
        self.owner._received(data, (addr[0], addr[1]))


class Peer:
    """`async with Peer() as peer:` a UDP SIP endpoint plus one RTP socket."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.messages: list[tuple[Message, tuple[str, int]]] = []
        self.rtp_packets: list[RtpPacket] = []
        self._changed = asyncio.Event()
        self._sip = None
        self._rtp = None

    async def __aenter__(self) -> "Peer":
        loop = asyncio.get_running_loop()
        self._sip, _ = await loop.create_datagram_endpoint(lambda: _Proto(self), local_addr=(self.host, 0))
        self._rtp, _ = await loop.create_datagram_endpoint(lambda: _RtpProto(self), local_addr=(self.host, 0))
        return self

    async def __aexit__(self, *exc) -> None:
        for t in (self._sip, self._rtp):
            if t is not None:
                t.close()

    @property
    def port(self) -> int:
        return self._sip.get_extra_info("sockname")[1]

    @property
    def rtp_port(self) -> int:
        return self._rtp.get_extra_info("sockname")[1]

    @property
    def contact(self) -> str:
        return f"<sip:peer@{self.host}:{self.port}>"

    @property
    def via(self) -> str:
        return f"SIP/2.0/UDP {self.host}:{self.port}"

    def _received(self, data: bytes, addr) -> None:
        try:
            msg = parse(data)
        except ValueError:
            return
        self.messages.append((msg, addr))
        self._changed.set()

    def send(self, msg: Message, addr: tuple[str, int]) -> None:
        self._sip.sendto(bytes(msg), addr)

    def offer(self) -> bytes:
        return bytes(sdp.build_offer(self.host, self.rtp_port))

    # -- waiting --------------------------------------------------------------------------

    async def wait_for(self, predicate, timeout: float = 5.0, start: int = 0):
        """The first received message (from index `start`) matching `predicate`."""
        async def scan():
            seen = start
            while True:
                for msg, addr in self.messages[seen:]:
                    if predicate(msg):
                        return msg, addr
                seen = len(self.messages)
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(scan(), timeout)

    def responses_to(self, request: Request) -> list[Response]:
        branch = request.top_via.branch
        return [m for m, _ in self.messages
                if isinstance(m, Response) and m.top_via.branch == branch and m.cseq.method == request.method]

    async def final_to(self, request: Request, timeout: float = 5.0) -> Response:
        branch = request.top_via.branch
        msg, _ = await self.wait_for(lambda m: isinstance(m, Response) and m.status >= 200
                                     and m.top_via.branch == branch and m.cseq.method == request.method, timeout)
        return msg

    async def request(self, method: str, timeout: float = 5.0, start: int = 0) -> tuple[Request, tuple[str, int]]:
        return await self.wait_for(lambda m: isinstance(m, Request) and m.method == method, timeout, start)

    # -- building -------------------------------------------------------------------------

    def invite(self, target: tuple[str, int], from_user: str, to_user: str, *, call_id: str | None = None,
               from_tag: str | None = None, cseq: int = 1, headers: list[tuple[str, str]] | None = None,
               from_host: str | None = None) -> Request:
        host = f"{target[0]}:{target[1]}"
        req = Request(method="INVITE", uri=f"sip:{to_user}@{host}", headers=[
            ("Via", f"{self.via};branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{from_user}@{from_host or self.host}>;tag={from_tag or secrets.token_hex(4)}"),
            ("To", f"<sip:{to_user}@{host}>"),
            ("Call-ID", call_id or secrets.token_hex(8)),
            ("CSeq", f"{cseq} INVITE"),
            ("Contact", self.contact),
            *(headers or []),
        ])
        req.set_body(self.offer(), "application/sdp")
        return req

    def ack_for(self, invite: Request, response: Response) -> Request:
        dialog = Dialog.from_uac(invite, response)
        return dialog.create_ack(invite.cseq.seq, self.via)

    def answer(self, request: Request, status: int, reason: str | None = None, *, tag: str | None = None,
               headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> Response:
        resp = make_response(request, status, reason if reason is not None else reason_for(status),
                             to_tag=tag if status > 100 else None)
        for name, value in headers or []:
            resp.add(name, value)
        if body:
            resp.set_body(body, "application/sdp")
        return resp


class _RtpProto(asyncio.DatagramProtocol):
    def __init__(self, owner: Peer) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            self.owner.rtp_packets.append(RtpPacket.parse(data))
        except ValueError:
            pass


def decode_digits(packets: list[RtpPacket], event_payload_type: int = sdp.DEFAULT_EVENT_PT) -> str:
    """The RFC 4733 digits in `packets` (one per event), as the far end hears them."""
    receiver = DtmfReceiver(event_payload_type)
    out = []
    for packet in packets:
        digit = receiver.feed(packet)
        if digit is not None:
            out.append(digit)
    return "".join(out)


def dtmf_packets(digits: str, ssrc: int = 0x1234, payload_type: int = sdp.DEFAULT_EVENT_PT,
                 start_ts: int = 1000) -> list[bytes]:
    """RFC 4733 packets for `digits` (three per event: start, middle, end) to send as a caller."""
    out: list[bytes] = []
    seq = 1
    for i, digit in enumerate(digits):
        event = "0123456789*#abcd".index(digit)
        ts = start_ts + i * 4000
        for k, end in enumerate((False, False, True)):
            payload = bytes(TelephoneEvent(event, end, 10, 160 * (k + 1)))
            out.append(bytes(RtpPacket(payload_type, seq, ts, ssrc, payload, marker=k == 0)))
            seq += 1
    return out
