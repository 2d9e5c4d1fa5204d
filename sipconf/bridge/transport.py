"""UDP and TCP SIP transports on 127.0.0.1 (RFC 3261 18).

The asyncio protocols only frame and dispatch: each complete message is parsed and handed
to one synchronous ``handler(message, source)``; ``source.send`` answers on the same
transport.  RFC 3261 18.2.1 / RFC 3581 4: a request's top Via is stamped with ``received``
(when its sent-by host is not the packet's source address, or when it asked for ``rport``)
and ``rport=<source port>`` (when it asked).  RFC 3261 18.2.2: responses to a TCP request
go back on that connection; UDP responses go where the top Via says (``maddr``, else
``received`` with ``rport`` or the sent-by port, else the sent-by host and port; 5060 when
no port is given), not blindly to the packet's source.  No
task is ever created here, so none can leak; handler exceptions are logged, never raised.

Hostile input: messages above ``max_message_size`` or ``max_headers`` are rejected;
malformed requests get ``400 Bad Request`` (``505 Version Not Supported`` for a SIP version
other than 2.0) when a Via and a CSeq can be salvaged (From, To and Call-ID are copied when
present: a request without Call-ID gets a 400 without one, as a real stack answers it),
otherwise they are dropped and logged; at most ``max_tcp_connections`` at once;
a TCP connection that sends no complete message within ``tcp_first_message_timeout`` is
closed, and so is one that leaves a message incomplete for ``tcp_message_timeout`` (a
per-message read deadline, from the message's first byte: trickling bytes does not extend
it); a TCP stream whose framing is lost (bad or repeated Content-Length, oversize) is closed.

Destinations: unless built with ``allow_external``, nothing is sent to an address that is
not a loopback IP literal (127.0.0.0/8, ::1; ``localhost`` means 127.0.0.1).  Host names
are never resolved here, so a name taken from a message (a Via ``maddr``, a Contact) can
neither leak a DNS query nor a packet off the machine: such sends are dropped and logged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from dataclasses import dataclass, field
from typing import Callable

from sipconf.bridge.clock import Clock, LoopClock, TimerHandle
from sipconf.sip.headers import Via, split_commas
from sipconf.sip.message import (Message, Request, Response, UnsupportedVersion, canonical_name, check_mandatory,
                                 parse)

__all__ = ["Handler", "Limits", "SipServer", "Source", "bad_request_for", "loopback_destination",
           "response_address", "stamp_via"]

log = logging.getLogger("sipconf.bridge.transport")


@dataclass(frozen=True)
class Limits:
    max_message_size: int = 64 * 1024
    max_headers: int = 128
    max_tcp_connections: int = 256
    tcp_first_message_timeout: float = 10.0
    tcp_message_timeout: float = 10.0


@dataclass
class Source:
    """Where a message came from, and how to answer on the same transport."""

    transport: str  # "UDP" or "TCP"
    addr: tuple[str, int]
    send: Callable[[Message | bytes], None] = field(repr=False)
    reply_to: tuple[str, int] | None = None  # UDP: where responses go (RFC 3261 18.2.2)

    @property
    def reliable(self) -> bool:
        return self.transport == "TCP"


Handler = Callable[[Request | Response, Source], None]

DEFAULT_PORT = 5060  # RFC 3261 18.1.1 / 19.1.2: sip: over UDP and TCP


def stamp_via(headers: list[tuple[str, str]], addr: tuple[str, int]) -> Via | None:
    """RFC 3261 18.2.1 and RFC 3581 4, in place: add ``received=<source IP>`` to the top Via
    when its sent-by host differs from the packet's source or it carries a bare ``rport``,
    and fill that ``rport`` with the source port.  Returns the (stamped) top Via, or None
    when there is no parseable one."""
    for index, (name, value) in enumerate(headers):
        if canonical_name(name) == "via":
            break
    else:
        return None
    first, rest = value, ""
    if "," in value:
        parts = split_commas(value)
        if not parts:
            return None
        first, rest = parts[0], ", ".join(parts[1:])
    try:
        via = Via.parse(first)
    except ValueError:
        return None
    ip, port = addr
    wants_rport = via.param("rport") == ""
    if not wants_rport and via.host.strip("[]").lower() == ip.lower():
        return via  # nothing to add: the common case, and no re-rendering
    params: list[tuple[str, str | None]] = []
    for key, val in via.params:
        low = key.lower()
        if low == "received":
            continue
        params.append((key, str(port)) if low == "rport" and wants_rport else (key, val))
    params.append(("received", ip))
    via = Via(via.transport, via.host, via.port, params)
    headers[index] = (name, f"{via}, {rest}" if rest else str(via))
    return via


def response_address(via: Via) -> tuple[str, int]:
    """RFC 3261 18.2.2 (unreliable transport) with RFC 3581 4: where a response goes."""
    maddr = via.param("maddr")
    if maddr:
        return maddr.strip("[]"), via.port or DEFAULT_PORT
    received = via.param("received")
    if received:
        rport = via.param("rport")
        port = int(rport) if rport and rport.isdigit() and rport.isascii() else via.port
        return received.strip("[]"), port or DEFAULT_PORT
    return via.host.strip("[]"), via.port or DEFAULT_PORT


_SALVAGE = ("via", "from", "to", "call-id", "cseq")
_NEEDED = ("via", "cseq")  # without these a response cannot be addressed or matched


def loopback_destination(host: str) -> str | None:
    """``host`` as the loopback IP literal to send to, or None: a name other than
    ``localhost`` is never resolved, and an address off loopback is refused."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return "127.0.0.1"
    try:
        return name if ipaddress.ip_address(name).is_loopback else None
    except ValueError:
        return None


def bad_request_for(data: bytes, error: str, status: int = 400, reason: str = "Bad Request") -> Response | None:
    """A 400 (or ``status``) for a message we could not parse, if it looks like a request
    with a Via and a CSeq to answer with; the other headers RFC 3261 8.2.6.2 copies (From,
    To, Call-ID) are copied when present.  None means drop it."""
    text = data.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0].lstrip("\r\n")
    lines = head.split("\r\n")
    start = lines[0]
    if not start or start.startswith("SIP/") or start.split(" ", 1)[0] == "ACK":
        return None  # never answer responses or ACKs (RFC 3261 17.2.1, 8.2)
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = canonical_name(name.strip())
        if key in _SALVAGE:
            found.setdefault(key, []).append(value.strip())
    if any(key not in found for key in _NEEDED):
        return None
    headers: list[tuple[str, str]] = []
    for key, long in zip(_SALVAGE, ("Via", "From", "To", "Call-ID", "CSeq")):
        values = found.get(key, []) if key == "via" else found.get(key, [])[:1]
        headers += [(long, v) for v in values]
    warning = re.sub(r'[\x00-\x1f"\\]', "'", error)[:200]
    headers.append(("Warning", f'399 sipconf "{warning}"'))  # RFC 3261 20.43
    return Response(headers=headers, status=status, reason=reason)


class _Dispatcher:
    """Parse one frame, answer 400 or drop on error, else call the handler."""

    def __init__(self, handler: Handler, limits: Limits) -> None:
        self.handler = handler
        self.limits = limits
        self.dropped = 0
        self.rejected = 0

    def dispatch(self, data: bytes, source: Source) -> None:
        try:
            message = parse(data, max_headers=self.limits.max_headers)
            check_mandatory(message)
        except ValueError as exc:
            self._malformed(data, exc, source)
            return
        if isinstance(message, Request):
            self._stamp(message.headers, source)
        try:
            self.handler(message, source)
        except Exception:  # the server must survive any handler bug
            log.exception("handler failed for %s message from %s:%d", source.transport, *source.addr)

    def _malformed(self, data: bytes, error: ValueError, source: Source) -> None:
        if isinstance(error, UnsupportedVersion):
            response = bad_request_for(data, str(error), 505, "Version Not Supported")  # RFC 3261 21.5.6
        else:
            response = bad_request_for(data, str(error))
        if response is None:
            self.dropped += 1
            log.warning("dropped malformed %s message from %s:%d: %s", source.transport, *source.addr, error)
            return
        self.rejected += 1
        log.warning("%d to malformed %s message from %s:%d: %s", response.status, source.transport, *source.addr, error)
        self._stamp(response.headers, source)  # the 400 carries the request's Vias
        source.send(response)

    @staticmethod
    def _stamp(headers: list[tuple[str, str]], source: Source) -> None:
        via = stamp_via(headers, source.addr)
        if via is not None and not source.reliable:
            try:
                source.reply_to = response_address(via)
            except ValueError:
                pass  # keep answering the packet's source


def _unsent(message: Message | bytes) -> None:
    raise RuntimeError("source has no sender")


def _encode(message: Message | bytes) -> bytes:
    return message if isinstance(message, bytes) else bytes(message)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, dispatcher: _Dispatcher, limits: Limits, allow_external: bool = False) -> None:
        self.dispatcher = dispatcher
        self.limits = limits
        self.allow_external = allow_external
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def sendto(self, message: Message | bytes, addr: tuple[str, int]) -> None:
        host = addr[0] if self.allow_external else loopback_destination(addr[0])
        if host is None:
            log.warning("not sent to %s:%d: only loopback IP addresses are reachable", addr[0], addr[1])
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(_encode(message), (host, addr[1]))

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip(b"\r\n"):
            return  # RFC 5626 keep-alive
        if len(data) > self.limits.max_message_size:
            log.warning("dropped %d-byte datagram from %s:%d (limit %d)", len(data), addr[0], addr[1], self.limits.max_message_size)
            return
        self.dispatcher.dispatch(data, self.source((addr[0], addr[1])))

    def source(self, addr: tuple[str, int]) -> Source:
        """Requests go to ``addr``; responses to ``reply_to`` once the dispatcher set it."""
        source = Source("UDP", addr, _unsent)

        def send(message: Message | bytes) -> None:
            to = source.reply_to if isinstance(message, Response) and source.reply_to is not None else addr
            self.sendto(message, to)

        source.send = send
        return source

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


class _TcpProtocol(asyncio.Protocol):
    """Frames a TCP byte stream into SIP messages by Content-Length (RFC 3261 18.3)."""

    def __init__(self, server: SipServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.addr: tuple[str, int] = ("", 0)
        self.source: Source | None = None
        self._idle: TimerHandle | None = None
        self._deadline: TimerHandle | None = None
        self._deadline_message = -1  # the value of `messages` when the deadline was armed
        self.messages = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("", 0)
        self.addr = (peer[0], peer[1])
        self.source = Source("TCP", self.addr, self.send)
        if not self.server._admit(self):
            log.warning("refused TCP connection from %s:%d: %d connections open", *self.addr, self.server.limits.max_tcp_connections)
            transport.close()
            return
        self._idle = self.server.clock.call_later(self.server.limits.tcp_first_message_timeout, self._idle_timeout)

    def _idle_timeout(self) -> None:
        if self.messages == 0 and self.transport is not None:
            log.warning("closed TCP connection from %s:%d: nothing received in %.0f s", *self.addr, self.server.limits.tcp_first_message_timeout)
            self.transport.close()

    def send(self, message: Message | bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_encode(message))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            self._frame()
        finally:
            self._watch_partial()

    def _watch_partial(self) -> None:
        """Arm the read deadline when a message is incomplete; re-arm it for each new message."""
        partial = bool(self.buffer) and self.transport is not None and not self.transport.is_closing()
        if partial and self._deadline is not None and self._deadline_message == self.messages:
            return  # the same message is still arriving: its deadline stands
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if partial:
            self._deadline_message = self.messages
            self._deadline = self.server.clock.call_later(self.server.limits.tcp_message_timeout, self._read_timeout)

    def _read_timeout(self) -> None:
        self._deadline = None
        if self.buffer and self.transport is not None and not self.transport.is_closing():
            log.warning("closed TCP connection from %s:%d: message incomplete after %.0f s (%d bytes)",
                        *self.addr, self.server.limits.tcp_message_timeout, len(self.buffer))
            self.buffer.clear()
            self.transport.close()

    def _frame(self) -> None:
        limit = self.server.limits.max_message_size
        while self.transport is not None and not self.transport.is_closing():
            # RFC 3261 7.5 / RFC 5626 3.5.1: CRLFs between messages are keep-alives.
            while self.buffer[:2] == b"\r\n":
                del self.buffer[:2]
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > limit:
                    self._lose_framing(f"header section larger than {limit} bytes")
                return
            lengths = _CONTENT_LENGTH.findall(self.buffer, 0, end + 2)
            length = 0
            if len(lengths) > 1:
                self._lose_framing("more than one Content-Length header")
                return
            if lengths:
                text = lengths[0].strip()
                if not text.isdigit():
                    self._lose_framing(f"invalid Content-Length: {text.decode(errors='replace')!r}")
                    return
                length = int(text)
            total = end + 4 + length
            if total > limit:
                self._lose_framing(f"message of {total} bytes exceeds {limit}")
                return
            if len(self.buffer) < total:
                return
            frame = bytes(self.buffer[:total])
            del self.buffer[:total]
            self.messages += 1
            if self.source is not None:
                self.server._dispatcher.dispatch(frame, self.source)

    def _lose_framing(self, reason: str) -> None:
        # The stream cannot be re-synchronised: answer 400 if possible, then close.
        log.warning("closing TCP connection from %s:%d: %s", *self.addr, reason)
        response = bad_request_for(bytes(self.buffer[: self.server.limits.max_message_size]), reason)
        if response is not None:
            self.send(response)
        self.buffer.clear()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.server._release(self)
        self.transport = None


_SAME_PORT_ATTEMPTS = 20


class SipServer:
    """UDP and TCP listeners sharing one handler.  An async context manager:

    ``async with SipServer(handler) as server: server.udp_address, server.tcp_address``.
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        udp_port: int = 0,
        tcp_port: int = 0,
        limits: Limits | None = None,
        clock: Clock | None = None,
        udp: bool = True,
        tcp: bool = True,
        allow_external: bool = False,
    ) -> None:
        self.host = host
        self.allow_external = allow_external
        self.limits = limits or Limits()
        self.clock: Clock = clock or LoopClock()
        self._dispatcher = _Dispatcher(handler, self.limits)
        self._ports = (udp_port if udp else None, tcp_port if tcp else None)
        self._udp: _UdpProtocol | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.base_events.Server | None = None
        self.connections: set[_TcpProtocol] = set()
        self._outbound: dict[tuple[str, int], _TcpProtocol] = {}

    @property
    def dropped(self) -> int:
        return self._dispatcher.dropped

    @property
    def rejected(self) -> int:
        return self._dispatcher.rejected

    async def start(self) -> None:
        udp_port, tcp_port = self._ports
        if udp_port == 0 and tcp_port == 0:
            # SIP listens on one port number for both transports (RFC 3261 18), so clients
            # and scenarios can switch transport without another address: pick a free UDP
            # port and take the same number for TCP, retrying when TCP has it taken.
            for _ in range(_SAME_PORT_ATTEMPTS):
                await self._bind(0, None)
                port = self.udp_address[1]
                try:
                    await self._bind(None, port)
                    return
                except OSError:
                    self._udp_transport.close()
                    self._udp_transport = self._udp = None
            raise OSError(f"no port free for both UDP and TCP on {self.host} after {_SAME_PORT_ATTEMPTS} attempts")
        await self._bind(udp_port, tcp_port)

    async def _bind(self, udp_port: int | None, tcp_port: int | None) -> None:
        loop = asyncio.get_running_loop()
        if udp_port is not None:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self._dispatcher, self.limits, self.allow_external),
                local_addr=(self.host, udp_port),
            )
            self._udp_transport, self._udp = transport, protocol
        if tcp_port is not None:
            self._tcp_server = await loop.create_server(lambda: _TcpProtocol(self), self.host, tcp_port)

    async def close(self) -> None:
        if self._udp_transport is not None:
            self._udp_transport.close()
        if self._tcp_server is not None:
            self._tcp_server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self._tcp_server is not None:
            await self._tcp_server.wait_closed()
        await asyncio.sleep(0)  # let connection_lost callbacks run

    async def __aenter__(self) -> SipServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def udp_address(self) -> tuple[str, int]:
        if self._udp_transport is None:
            raise RuntimeError("UDP listener is not running")
        host, port = self._udp_transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def tcp_address(self) -> tuple[str, int]:
        if self._tcp_server is None:
            raise RuntimeError("TCP listener is not running")
        host, port = self._tcp_server.sockets[0].getsockname()[:2]
        return host, port

    def serving(self) -> dict[str, bool]:
        """Whether each listener still serves. A UDP endpoint that was closed, by `close()` or by
        a fatal socket error (asyncio then closes the transport), no longer does."""
        udp_port, tcp_port = self._ports
        listeners = {}
        if udp_port is not None:
            listeners["udp"] = self._udp_transport is not None and not self._udp_transport.is_closing()
        if tcp_port is not None:
            listeners["tcp"] = self._tcp_server is not None and self._tcp_server.is_serving()
        return listeners

    def udp_source(self, addr: tuple[str, int]) -> Source:
        """A ``Source`` for sending requests to ``addr`` from our UDP port."""
        if self._udp is None:
            raise RuntimeError("UDP listener is not running")
        return self._udp.source(addr)

    async def tcp_source(self, addr: tuple[str, int]) -> Source:
        """A ``Source`` over a TCP connection to ``addr`` (reused while open); responses
        arriving on it reach the handler like any other message."""
        conn = self._outbound.get(addr)
        if conn is None or conn.transport is None:
            host = addr[0] if self.allow_external else loopback_destination(addr[0])
            if host is None:
                raise ConnectionError(f"not connecting to {addr[0]}:{addr[1]}: only loopback IP addresses are reachable")
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(lambda: _TcpProtocol(self), host, addr[1])
            conn.messages = 1  # we opened it: the idle rule is for peers that never speak
            self._outbound[addr] = conn
        if conn.source is None:
            raise ConnectionError(f"TCP connection to {addr[0]}:{addr[1]} was refused locally")
        return conn.source

    def _admit(self, conn: _TcpProtocol) -> bool:
        if len(self.connections) >= self.limits.max_tcp_connections:
            return False
        self.connections.add(conn)
        return True

    def _release(self, conn: _TcpProtocol) -> None:
        self.connections.discard(conn)
        for addr, c in list(self._outbound.items()):
            if c is conn:
                del self._outbound[addr]
