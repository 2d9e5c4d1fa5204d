"""A minimal SIP caller (UAC) over UDP or TCP for the scapy driver: INVITE (with digest retry),
ACK, RFC 4733 digits or SIP INFO, BYE, and answers to the bridge's in-dialog requests.

Messages are the bridge's own `Request`/`Response` dataclasses printed to bytes; the
dialog rules are RFC 3261's: ACK for a non-2xx reuses the INVITE's branch and CSeq number
(17.1.1.3), ACK for a 2xx is a new transaction (13.2.2.4), BYE uses the next CSeq.
"""

from __future__ import annotations

import asyncio
import random
import secrets

from sipconf.sip.digest import answer_challenge, challenge_headers
from sipconf.sip.dtmf import digit_to_event, SAMPLE_RATE
from sipconf.sip.message import Request, Response, make_response
from sipconf.sip.rtp import RtpPacket, TelephoneEvent
from sipconf.sip.sdp import SessionDescription, build_offer
from simulator.net import Capture, TcpEndpoint, UdpEndpoint

EVENT_PT = 101
FINAL_TIMEOUT = 8.0  # seconds to wait for a final response before calling it "none"


def mutate(data: bytes, kind: str) -> bytes:
    """Break a message on purpose (RFC 4475-style edge cases):

    - `bad-content-length`: Content-Length larger than the body (RFC 3261 18.3: UDP
      messages with a short body are rejected with 400);
    - `missing-call-id`: no Call-ID (the bridge answers 400 by the Via and CSeq);
    - `bad-start-line`: a request line without its SIP version.
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if kind == "bad-content-length":
        lines = [(b"Content-Length: %d" % (len(body) + 100)) if line.lower().startswith(b"content-length:") else line
                 for line in lines]
    elif kind == "missing-call-id":
        lines = [line for line in lines if not line.lower().startswith((b"call-id:", b"i:"))]
    elif kind == "bad-start-line":
        lines[0] = lines[0].rsplit(b" ", 1)[0]
    else:
        raise ValueError(f"unknown malformation {kind!r}")
    return b"\r\n".join(lines) + sep + body


class Uac:
    def __init__(self, sip: UdpEndpoint, rtp: UdpEndpoint, bridge: tuple[str, int], from_user: str, to_user: str,
                 from_host: str, headers: dict[str, str]) -> None:
        self.sip, self.rtp, self.bridge = sip, rtp, bridge
        self.from_user, self.to_user, self.from_host = from_user, to_user, from_host
        self.extra = headers
        self.call_id = f"{secrets.token_hex(8)}@sipconf-test"
        self.from_tag = secrets.token_hex(4)
        self.to_header = ""
        self.cseq = 0
        self.remote_rtp: tuple[str, int] | None = None
        self.remote_target = f"sip:{to_user}@{bridge[0]}:{bridge[1]}"
        self.ended = asyncio.Event()
        self.answered = False
        self.responses: list[Response] = []

    @classmethod
    async def open(cls, source: str, bridge: tuple[str, int], capture: Capture, transport: str = "udp", **kw) -> "Uac":
        sip = await (TcpEndpoint.connect(source, bridge, capture) if transport == "tcp" else UdpEndpoint.bind(source, capture))
        rtp = await UdpEndpoint.bind(source, capture)
        return cls(sip, rtp, bridge, **kw)

    async def aclose(self) -> None:
        await self.sip.aclose()
        await self.rtp.aclose()

    # -- requests -------------------------------------------------------------------------
    def _request(self, method: str, uri: str, cseq: int, branch: str | None = None) -> Request:
        host, port = self.sip.local
        req = Request(method=method, uri=uri)
        req.add("Via", f"SIP/2.0/{self.sip.via_transport} {host}:{port};branch=z9hG4bK{branch or secrets.token_hex(6)};rport")
        req.add("Max-Forwards", "70")
        req.add("From", f"<sip:{self.from_user}@{self.from_host}>;tag={self.from_tag}")
        req.add("To", self.to_header or f"<sip:{self.to_user}@{self.bridge[0]}>")
        req.add("Call-ID", self.call_id)
        req.add("CSeq", f"{cseq} {method}")
        req.add("Contact", f"<sip:{self.from_user}@{host}:{port}{self.sip.uri_suffix}>")
        return req

    def _invite(self, auth: tuple[str, str] | None) -> Request:
        self.cseq += 1
        req = self._request("INVITE", f"sip:{self.to_user}@{self.bridge[0]}:{self.bridge[1]}", self.cseq)
        for name, value in self.extra.items():
            req.add(name, value)
        if auth is not None:
            req.add(*auth)
        host, port = self.rtp.local
        req.set_body(bytes(build_offer(host, port, random.randrange(1 << 30), EVENT_PT)), "application/sdp")
        return req

    async def call(self, credentials: tuple[str, str] | None, malformed: str | None = None) -> Response | None:
        """INVITE until a final response; answer one digest challenge when we have
        credentials. Returns the final response, or None when none came (an `oss` drop)."""
        auth = None
        for _ in range(2):
            invite = self._invite(auth)
            self.sip.send(mutate(bytes(invite), malformed) if malformed else invite, self.bridge)
            final = await self._final(invite)
            if final is None:
                return None
            if final.status in (401, 407) and credentials is not None and auth is None:
                challenge_name, creds_name = challenge_headers(final.status)
                challenge = final.get(challenge_name)
                if challenge is None:
                    return final
                uri = invite.uri
                auth = (creds_name, answer_challenge(challenge, "INVITE", uri, *credentials))
                continue
            return final
        return final

    async def _responses(self, timeout: float):
        """Responses until `timeout` passes; requests met on the way are answered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = await self.sip.recv(max(0.0, deadline - loop.time()))
            if got is None:
                return
            msg, addr = got
            if isinstance(msg, Request):
                self.on_request(msg, addr)
            else:
                yield msg

    async def _final(self, invite: Request) -> Response | None:
        async for msg in self._responses(FINAL_TIMEOUT):
            if not _ours(msg, self.call_id, invite):
                continue
            self.responses.append(msg)
            if msg.status < 200:
                continue
            self._ack(invite, msg)
            return msg
        return None

    def _ack(self, invite: Request, final: Response) -> None:
        if final.status >= 300:
            # 17.1.1.3: same branch as the INVITE, same CSeq number, the response's To (its
            # tag); a retried INVITE starts without a To tag again.
            ack = self._request("ACK", invite.uri, self.cseq)
            ack.set("Via", invite.get("via") or "")
            ack.set("To", final.get("to") or "")
        else:
            self.answered = True
            self.to_header = final.get("to") or ""  # the dialog's remote tag (12.1.2)
            contact = final.contacts[0].uri if final.contacts else None
            if contact is not None:
                self.remote_target = str(contact)
            ack = self._request("ACK", self.remote_target, self.cseq)
            try:
                sd = SessionDescription.parse(final.body)
                self.remote_rtp = (sd.address or self.bridge[0], sd.audio_port)
            except ValueError:
                self.remote_rtp = None
        ack.add("Content-Length", "0")
        self.sip.send(ack, self.bridge)

    async def bye(self) -> Response | None:
        self.cseq += 1
        bye = self._request("BYE", self.remote_target, self.cseq)
        bye.add("Content-Length", "0")
        self.sip.send(bye, self.bridge)
        return await self._response_to(bye, 4.0)

    async def info_digit(self, digit: str, duration_ms: int) -> Response | None:
        """SIP INFO DTMF (application/dtmf-relay); LiveKit does not support it
        (docs/livekit.md#pin-flow)."""
        self.cseq += 1
        info = self._request("INFO", self.remote_target, self.cseq)
        info.set_body(f"Signal={digit}\r\nDuration={duration_ms}\r\n".encode(), "application/dtmf-relay")
        self.sip.send(info, self.bridge)
        return await self._response_to(info, 4.0)

    async def _response_to(self, req: Request, timeout: float) -> Response | None:
        async for msg in self._responses(timeout):
            if msg.get("cseq") == req.get("cseq") and msg.status >= 200:
                return msg
        return None

    async def send_digits(self, digits: str, duration_ms: int, gap_ms: int) -> None:
        """RFC 4733 telephone-events to the bridge's RTP address: packets every 20 ms with a
        growing duration, the end packet three times (2.5.1.2, 2.5.1.4)."""
        if self.remote_rtp is None:
            return
        ssrc = random.randrange(1 << 32)
        seq = random.randrange(1 << 16)
        ts = random.randrange(1 << 31)
        steps = max(1, duration_ms // 20)
        for ch in digits.lower():
            event = digit_to_event(ch)
            if event is None:
                continue
            for k in range(steps):
                ev = TelephoneEvent(event, False, 10, (k + 1) * 20 * SAMPLE_RATE // 1000)
                self.rtp.send(bytes(RtpPacket(EVENT_PT, seq, ts, ssrc, bytes(ev), marker=k == 0)), self.remote_rtp)
                seq += 1
                await asyncio.sleep(0.02)
            end = TelephoneEvent(event, True, 10, steps * 20 * SAMPLE_RATE // 1000)
            for _ in range(3):
                self.rtp.send(bytes(RtpPacket(EVENT_PT, seq, ts, ssrc, bytes(end))), self.remote_rtp)
                seq += 1
            ts += (duration_ms + gap_ms) * SAMPLE_RATE // 1000
            await asyncio.sleep(gap_ms / 1000)

    async def serve(self, timeout: float) -> None:
        """Answer in-dialog requests until the call ends or `timeout` passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.ended.is_set():
            got = await self.sip.recv(max(0.0, deadline - loop.time()))
            if got is None:
                return
            if isinstance(got[0], Request):
                self.on_request(*got)

    def on_request(self, req: Request, addr: tuple[str, int]) -> None:
        if req.method == "ACK":
            return
        resp = make_response(req, 200, "OK")
        resp.add("Content-Length", "0")
        self.sip.send(resp, addr)
        if req.method == "BYE":
            self.ended.set()


def _ours(response: Response, call_id: str, invite: Request) -> bool:
    """A response to our INVITE: same Call-ID, or -- when the bridge answers an INVITE that
    had none (a 400 for `missing-call-id`) -- the same top Via branch."""
    if response.get("call-id") is not None:
        return response.call_id == call_id
    try:
        return response.top_via.branch is not None and response.top_via.branch == invite.top_via.branch
    except ValueError:
        return False
