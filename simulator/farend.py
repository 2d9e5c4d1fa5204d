"""The far end (UAS) of an outbound call, at the outbound trunk's own loopback address.

It answers LiveKit's INVITE as the scenario's `far_end` says (a digest challenge first,
then `status`), records the INVITE it received (Request-URI, From, To, headers), decodes
the RFC 4733 digits LiveKit plays into its RTP port (SIPp cannot, SIPp#407), and answers a
REFER with `refer_status` then a NOTIFY carrying a `message/sipfrag` of `notify`
(RFC 3515 2.4.5) so the transfer's outcome is whatever the scenario declares.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from sipconf.sip.digest import parse_digest
from sipconf.sip.dtmf import DtmfReceiver
from sipconf.sip.message import Request, Response, make_response, parse
from sipconf.sip.rtp import RtpPacket
from sipconf.sip.sdp import NoCommonCodec, SessionDescription, build_answer, negotiate
from simulator.net import Capture, TcpEndpoint, UdpEndpoint
from simulator.scenario.models import FarEnd

REASONS = {401: "Unauthorized", 200: "OK", 202: "Accepted", 403: "Forbidden", 486: "Busy Here", 488: "Not Acceptable Here",
           603: "Decline", 404: "Not Found", 480: "Temporarily Unavailable", 100: "Trying"}
REALM = "far-end.sipconf.test"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 2617 digest is MD5


class FarEndUas:
    def __init__(self, spec: FarEnd, sip: UdpEndpoint, rtp: UdpEndpoint, credentials: tuple[str, str] | None) -> None:
        self.spec, self.sip, self.rtp = spec, sip, rtp
        self.credentials = credentials
        self.invite: dict | None = None
        self.digits = ""
        self.refer_to: str | None = None
        self.refer_status: int | None = None
        self.notify_sent: int | None = None
        self.notify_answered: int | None = None
        self.ended = asyncio.Event()
        self.tag = secrets.token_hex(4)
        self._invite_req: Request | None = None
        self._peer: tuple[str, int] | None = None
        self._cseq = 0
        self._tasks: list[asyncio.Task] = []
        self._receiver: DtmfReceiver | None = None

    @classmethod
    async def start(cls, spec: FarEnd, address: tuple[str, int], capture: Capture,
                    credentials: tuple[str, str] | None, transport: str = "udp") -> "FarEndUas":
        sip = await (TcpEndpoint.listen(address[0], capture, address[1]) if transport == "tcp"
                     else UdpEndpoint.bind(address[0], capture, address[1]))
        rtp = await UdpEndpoint.bind(address[0], capture)
        uas = cls(spec, sip, rtp, credentials)
        uas._tasks = [asyncio.create_task(uas._sip_loop()), asyncio.create_task(uas._rtp_loop())]
        return uas

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sip.aclose()
        await self.rtp.aclose()

    async def wait_digits(self, count: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.digits) < count and loop.time() < deadline:
            await asyncio.sleep(0.05)

    # -- SIP ------------------------------------------------------------------------------
    async def _sip_loop(self) -> None:
        # A plain queue.get (no wait_for): under 3.11, wait_for can swallow the cancel of
        # stop() when a datagram arrives at the same moment, and the loop would live on.
        while True:
            data, addr = await self.sip.queue.get()
            try:
                msg = parse(data)
            except ValueError:
                continue
            if isinstance(msg, Request):
                self._on_request(msg, addr)
            elif msg.get("cseq", "").endswith("NOTIFY") and msg.status >= 200:
                self.notify_answered = msg.status

    def _respond(self, req: Request, addr, status: int, extra=(), body: bytes = b"", ctype: str | None = None) -> None:
        resp = make_response(req, status, REASONS.get(status, "Response"), to_tag=self.tag)
        for name, value in extra:
            resp.add(name, value)
        if body:
            resp.set_body(body, ctype)
        else:
            resp.add("Content-Length", "0")
        self.sip.send(resp, addr)

    def _on_request(self, req: Request, addr) -> None:
        if req.method == "INVITE":
            self._on_invite(req, addr)
        elif req.method == "BYE":
            self._respond(req, addr, 200)
            self.ended.set()
        elif req.method == "REFER":
            self._on_refer(req, addr)
        elif req.method in ("ACK", "CANCEL"):
            if req.method == "CANCEL":
                self._respond(req, addr, 200)
        else:
            self._respond(req, addr, 200)

    def _on_invite(self, req: Request, addr) -> None:
        if self._invite_req is not None and req.call_id == self._invite_req.call_id and req.get("cseq") == self._invite_req.get("cseq"):
            return  # a retransmission of the INVITE we answered
        self._respond(req, addr, 100)
        if self.spec.challenge and self.credentials is not None:
            verdict = self._check_auth(req)
            if verdict is not None:
                self._respond(req, addr, verdict[0], verdict[1:])
                return
        self._invite_req, self._peer = req, addr
        self.invite = {
            "request_uri": req.uri,
            "from": req.get("from"),
            "to": req.get("to"),
            "headers": {name: value for name, value in req.headers},
        }
        if self.spec.status != 200:
            self._respond(req, addr, self.spec.status)
            return
        try:
            offer = SessionDescription.parse(req.body)
            chosen = negotiate(offer)
        except (ValueError, NoCommonCodec):
            self._respond(req, addr, 488)
            return
        self._receiver = DtmfReceiver(chosen.event_payload_type) if chosen.event_payload_type is not None else None
        host, port = self.rtp.local
        answer = bytes(build_answer(chosen, host, port))
        self._respond(req, addr, 200, [("Contact", f"<sip:far-end@{self.sip.local[0]}:{self.sip.local[1]}{self.sip.uri_suffix}>")],
                      answer, "application/sdp")

    def _check_auth(self, req: Request) -> tuple | None:
        """RFC 2617 digest (no qop) with a 401/WWW-Authenticate challenge, the form both
        far ends (this one and SIPp's <verifyauth>) understand. None = authenticated."""
        header = req.get("authorization")
        if header is None:
            nonce = f"{secrets.token_hex(8)}-{req.call_id}"
            return (401, ("WWW-Authenticate", f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5'))
        try:
            creds = parse_digest(header)
        except ValueError:
            return (403,)
        user, password = self.credentials
        ha1 = _md5(f"{user}:{creds.get('realm', '')}:{password}")
        ha2 = _md5(f"INVITE:{creds.get('uri', '')}")
        expected = _md5(f"{ha1}:{creds.get('nonce', '')}:{ha2}")
        if creds.get("username") != user or creds.get("response") != expected:
            return (403,)
        return None

    def _on_refer(self, req: Request, addr) -> None:
        """RFC 3515: answer the REFER, then report the referred call in a NOTIFY sipfrag."""
        self.refer_to = (req.get("refer-to") or "").strip().strip("<>")
        self.refer_status = self.spec.refer_status
        self._respond(req, addr, self.spec.refer_status)
        if self.spec.refer_status >= 300:
            return
        self._notify(req, addr, self.spec.notify)

    def _notify(self, refer: Request, addr, status: int) -> None:
        self._cseq += 1
        host, port = self.sip.local
        contact = refer.contacts[0].uri if refer.contacts else None
        uri = str(contact) if contact is not None else f"sip:{addr[0]}:{addr[1]}"
        notify = Request(method="NOTIFY", uri=uri)
        notify.add("Via", f"SIP/2.0/{self.sip.via_transport} {host}:{port};branch=z9hG4bK{secrets.token_hex(6)}")
        notify.add("Max-Forwards", "70")
        notify.add("From", refer.get("to") or "")
        notify.add("To", refer.get("from") or "")
        notify.add("Call-ID", refer.call_id)
        notify.add("CSeq", f"{self._cseq} NOTIFY")
        notify.add("Event", "refer")
        notify.add("Subscription-State", "terminated;reason=noresource")
        notify.add("Contact", f"<sip:far-end@{host}:{port}{self.sip.uri_suffix}>")
        notify.set_body(f"SIP/2.0 {status} {REASONS.get(status, 'Response')}\r\n".encode(), "message/sipfrag;version=2.0")
        self.notify_sent = status
        self.sip.send(notify, addr)

    # -- RTP ------------------------------------------------------------------------------
    async def _rtp_loop(self) -> None:
        while True:
            data, _ = await self.rtp.queue.get()
            if self._receiver is None:
                continue
            try:
                packet = RtpPacket.parse(data)
            except ValueError:
                continue
            digit = self._receiver.feed(packet)
            if digit is not None:
                self.digits += digit
