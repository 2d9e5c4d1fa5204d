"""`Agent`: one scripted SIP user agent, on loopback unless told otherwise.

It owns a SIP transport (UDP, a TCP client, a TCP listener, or one it is given) and an RTP
socket, keeps every message it receives in `messages`, and hands the requests to its roles:
the calls it placed (`await agent.call(...)`, the caller) and, once `agent.answer(script)`
was called, the callee. Without a role it answers nothing, and a test scripts every message
itself with the builders (`invite`, `ack_for`, `cancel_for`, `response`) and the waits
(`wait_for`, `request`, `final_to`).

Retransmitted requests (RFC 3261 17.2: same Call-ID, branch, CSeq and method) are answered
again with the response they already got, never handed to a role twice. The agent itself
retransmits nothing (no RFC 3261 timers A, E or G): its peers are on loopback, where a
datagram is not lost, and a test waits on messages, never on timers.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Callable

from sipconf.agent import build
from sipconf.agent.build import Dialog, answers
from sipconf.agent.caller import Call
from sipconf.agent.callee import Callee, Script
from sipconf.agent.media import Media
from sipconf.agent.transport import Address, Tap, TcpTransport, Transport, UdpTransport
from sipconf.sip.message import Message, Request, Response, make_response, parse
from sipconf.sip.rtp import RtpPacket

__all__ = ["Agent"]

Predicate = Callable[[Message], bool]
_ANSWERED_KEPT = 256  # responses kept for retransmitted requests


class Agent:
    """`async with Agent("127.0.0.5") as agent:` a UDP agent on 127.0.0.5 (any free port).

    `transport="tcp"` with `remote` connects to `remote` from `host`; without it, listens on
    `host:port`. A `Transport` object is used as it is (the agent closes it). `tap` sees
    every SIP message and RTP packet, both ways. The agent sends only to loopback IP literals
    unless `allow_external=True` (an operator's explicit choice: any IP literal, never a name).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, transport: str | Transport = "udp",
                 remote: Address | None = None, tap: Tap | None = None, user: str = "agent",
                 allow_external: bool = False) -> None:
        self._host, self._port, self._kind, self._remote, self.tap = host, port, transport, remote, tap
        self.allow_external = allow_external
        self.user = user
        self.transport: Transport | None = None
        self.media: Media | None = None
        self.messages: list[tuple[Message, Address]] = []
        self.calls: dict[str, Call] = {}
        self.callee: Callee | None = None
        self._waiters: list[tuple[Predicate, asyncio.Future]] = []
        self._answered: OrderedDict[tuple, tuple[Response, Address]] = OrderedDict()

    # -- lifetime -------------------------------------------------------------------------

    async def open(self) -> Agent:
        if isinstance(self._kind, str):
            self.transport = await self._open_transport(self._kind)
        else:
            self.transport = self._kind
        self.transport.deliver = self._received
        try:
            self.media = await Media.open(self.transport.local[0], self.tap, self.allow_external)
        except OSError:
            await self.transport.close()  # `async with` calls no __aexit__ when __aenter__ fails
            raise
        return self

    async def _open_transport(self, kind: str) -> Transport:
        if kind == "udp":
            return await UdpTransport.bind(self._host, self._port, self.tap, self.allow_external)
        if kind == "tcp" and self._remote is not None:
            return await TcpTransport.connect(self._host, self._remote, self.tap, self.allow_external)
        if kind == "tcp":
            return await TcpTransport.listen(self._host, self._port, self.tap, self.allow_external)
        raise ValueError(f"unknown transport {kind!r} (udp or tcp)")

    async def close(self) -> None:
        for _, waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()
        if self.transport is not None:
            await self.transport.close()
        if self.media is not None:
            await self.media.close()

    async def __aenter__(self) -> Agent:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- who we are -----------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.transport.local[0]

    @property
    def port(self) -> int:
        return self.transport.local[1]

    @property
    def rtp_port(self) -> int:
        return self.media.address[1]

    @property
    def rtp_packets(self) -> list[RtpPacket]:
        return self.media.packets

    @property
    def contact(self) -> str:
        return f"<sip:{self.user}@{self.host}:{self.port}{self.transport.uri_suffix}>"

    @property
    def via(self) -> str:
        """The sent-by of our Via headers; each request adds its own branch."""
        return f"SIP/2.0/{self.transport.name} {self.host}:{self.port}"

    # -- roles ----------------------------------------------------------------------------

    async def call(self, target: Address, from_user: str, to_user: str, *,
                   credentials: tuple[str, str] | None = None, headers: list[tuple[str, str]] | None = None,
                   from_host: str | None = None, malformed: str | None = None, ringing: bool = False,
                   timeout: float = 8.0) -> Call:
        """Place a call: INVITE `to_user` at `target` until a final response (answering one
        digest challenge when `credentials` are given), then ACK it. With `ringing`, return at
        the first provisional response above 100 instead (to CANCEL the call). The returned
        call's `final` is None when no final response came within `timeout`."""
        call = Call(self, target, from_user, to_user, headers=list(headers or ()), credentials=credentials,
                    from_host=from_host)
        self.calls[call.call_id] = call
        await call.invite(malformed=malformed, ringing=ringing, timeout=timeout)
        return call

    def answer(self, script: Script | None = None) -> Callee:
        """Answer every call that comes in as `script` says; returns the callee that records them."""
        self.callee = Callee(self, script or Script())
        return self.callee

    # -- sending --------------------------------------------------------------------------

    def send(self, message: Message | bytes, addr: Address) -> None:
        self.transport.send(message if isinstance(message, bytes) else bytes(message), addr)

    def reply(self, request: Request, response: Response, addr: Address) -> None:
        """Send `response` and keep it for a retransmission of `request`."""
        key = _transaction_key(request)
        if key is not None:
            self._answered[key] = (response, addr)
            self._answered.move_to_end(key)
            while len(self._answered) > _ANSWERED_KEPT:
                self._answered.popitem(last=False)
        self.send(response, addr)

    # -- receiving ------------------------------------------------------------------------

    def _received(self, data: bytes, addr: Address) -> None:
        try:
            message = parse(data)
        except ValueError:
            return  # not SIP: a peer's garbage is no message of ours
        self.messages.append((message, addr))
        for waiter in list(self._waiters):
            predicate, future = waiter
            if not future.done() and _matches(predicate, message):
                future.set_result((message, addr))
                self._waiters.remove(waiter)
        if isinstance(message, Request):
            self._dispatch(message, addr)

    def _dispatch(self, request: Request, addr: Address) -> None:
        key = _transaction_key(request)
        if key is not None and key in self._answered:
            response, _ = self._answered[key]
            self.send(response, addr)
            return
        try:
            call = self.calls.get(request.get("call-id") or "")
            if call is not None:
                call.on_request(request, addr)
            elif self.callee is not None:
                self.callee.on_request(request, addr)
        except ValueError:
            # A header the role needed does not parse: say so, as a real UA would.
            if request.method != "ACK":
                self.send(make_response(request, 400, "Bad Request"), addr)

    async def wait_for(self, predicate: Predicate, timeout: float = 5.0, start: int = 0) -> tuple[Message, Address]:
        """The first message received (from index `start` of `messages`) that matches
        `predicate`; asyncio.TimeoutError when none does within `timeout` seconds."""
        for message, addr in self.messages[start:]:
            if _matches(predicate, message):
                return message, addr
        waiter = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[1], timeout)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def request(self, method: str, timeout: float = 5.0, start: int = 0) -> tuple[Request, Address]:
        return await self.wait_for(lambda m: isinstance(m, Request) and m.method == method, timeout, start)

    def responses_to(self, request: Request) -> list[Response]:
        return [m for m, _ in self.messages if isinstance(m, Response) and answers(request, m)]

    async def final_to(self, request: Request, timeout: float = 5.0) -> Response:
        message, _ = await self.wait_for(lambda m: isinstance(m, Response) and m.status >= 200 and answers(request, m),
                                         timeout)
        return message

    # -- building -------------------------------------------------------------------------

    def offer(self) -> bytes:
        return self.media.offer()

    def invite(self, target: Address, from_user: str, to_user: str, *, call_id: str | None = None,
               from_tag: str | None = None, cseq: int = 1, headers: list[tuple[str, str]] | None = None,
               from_host: str | None = None) -> Request:
        """An INVITE to `to_user` at `target` with an SDP offer for our RTP socket."""
        host = f"{target[0]}:{target[1]}"
        request = Request(method="INVITE", uri=f"sip:{to_user}@{host}", headers=[
            ("Via", f"{self.via};branch={build.new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{from_user}@{from_host or self.host}>;tag={from_tag or build.new_tag()}"),
            ("To", f"<sip:{to_user}@{target[0]}>"),
            ("Call-ID", call_id or build.new_tag() + build.new_tag()),
            ("CSeq", f"{cseq} INVITE"),
            ("Contact", self.contact),
            *(headers or ()),
        ])
        request.set_body(self.offer(), "application/sdp")
        return request

    def ack_for(self, invite: Request, final: Response) -> Request:
        """The ACK of `final`: in the dialog for a 2xx (RFC 3261 13.2.2.4), in the INVITE's
        transaction for anything else (RFC 3261 17.1.1.3)."""
        if final.status >= 300:
            return build.ack_for_failure(invite, final)
        return Dialog.as_caller(invite, final).request("ACK", self.via, cseq=invite.cseq.seq)

    def cancel_for(self, invite: Request) -> Request:
        return build.cancel_for(invite)

    def response(self, request: Request, status: int, reason: str | None = None, *, tag: str | None = None,
                 headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> Response:
        return build.response(request, status, reason, tag=tag, headers=headers, body=body)


def _matches(predicate: Predicate, message: Message) -> bool:
    try:
        return bool(predicate(message))
    except ValueError:
        return False  # a header the predicate reads does not parse: not the message it waits for


def _transaction_key(request: Request) -> tuple | None:
    if request.method == "ACK":
        return None  # an ACK is never answered
    try:
        return (request.call_id, request.top_via.branch, request.cseq.seq, request.method)
    except ValueError:
        return None
