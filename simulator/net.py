"""Loopback UDP endpoints that record every datagram of a call, for the ladder and the pcap.

Sockets are ordinary (rootless); each one is bound to the scenario's 127.0.0.0/8 source so
an allowlist sees that address. Messages are parsed with the bridge's own SIP parser.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from sipconf.sip.message import Request, Response, parse
from simulator.result import Packet


@dataclass
class Capture:
    """Every datagram of one call, stamped relative to the call's start."""

    start: float = field(default_factory=time.monotonic)
    packets: list[Packet] = field(default_factory=list)

    def add(self, src: tuple[str, int], dst: tuple[str, int], data: bytes, transport: str = "udp") -> None:
        self.packets.append(Packet(time.monotonic() - self.start, src, dst, bytes(data), transport))


class UdpEndpoint(asyncio.DatagramProtocol):
    """One bound UDP socket; incoming datagrams queue up for `recv`/`recv_raw`."""

    via_transport = "UDP"
    uri_suffix = ""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.transport: asyncio.DatagramTransport | None = None
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.local: tuple[str, int] = ("", 0)
        self.closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def bind(cls, host: str, capture: Capture, port: int = 0) -> "UdpEndpoint":
        loop = asyncio.get_running_loop()
        ep = cls(capture)
        await loop.create_datagram_endpoint(lambda: ep, local_addr=(host, port))
        return ep

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.local = transport.get_extra_info("sockname")[:2]

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def datagram_received(self, data: bytes, addr) -> None:
        self.capture.add(addr[:2], self.local, data)
        self.queue.put_nowait((data, addr[:2]))

    def send(self, data: bytes | Request | Response, addr: tuple[str, int]) -> None:
        raw = data if isinstance(data, bytes) else bytes(data)
        self.capture.add(self.local, addr, raw)
        if self.transport is not None:
            self.transport.sendto(raw, addr)

    async def recv_raw(self, timeout: float) -> tuple[bytes, tuple[str, int]] | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return None

    async def recv(self, timeout: float) -> tuple[Request | Response, tuple[str, int]] | None:
        """The next parseable SIP message within `timeout` seconds (garbage is skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = await self.recv_raw(max(0.0, deadline - loop.time()))
            if got is None:
                return None
            try:
                return parse(got[0]), got[1]
            except ValueError:
                continue

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def aclose(self) -> None:
        """Close and wait until the socket is released (the next scenario rebinds its port)."""
        self.close()
        await asyncio.shield(self.closed)


_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$", re.I | re.M)


def frame(buffer: bytearray) -> bytes | None:
    """Take one SIP message off a TCP byte stream, framed by Content-Length (RFC 3261
    18.3); None until it is complete. CRLF keep-alives between messages are dropped."""
    while buffer[:2] == b"\r\n":
        del buffer[:2]
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    m = _CONTENT_LENGTH.search(bytes(buffer[:end]))
    total = end + 4 + (int(m.group(1)) if m else 0)
    if len(buffer) < total:
        return None
    message = bytes(buffer[:total])
    del buffer[:total]
    return message


class _TcpConnection(asyncio.Protocol):
    def __init__(self, endpoint: "TcpEndpoint") -> None:
        self.endpoint = endpoint
        self.buffer = bytearray()
        self.peer: tuple[str, int] = ("", 0)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.peer = transport.get_extra_info("peername")[:2]
        self.endpoint.connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (message := frame(self.buffer)) is not None:
            self.endpoint.capture.add(self.peer, self.endpoint.local, message, "tcp")
            self.endpoint.queue.put_nowait((message, self.peer))

    def connection_lost(self, exc) -> None:
        if self.endpoint.connections.get(self.peer) is self:
            del self.endpoint.connections[self.peer]


class TcpEndpoint:
    """SIP over TCP with UdpEndpoint's interface (`queue`, `local`, `send`, `recv`, `aclose`):
    a client connected from a chosen 127.0.0.0/8 source, or a listener (a far end). Messages
    are framed by Content-Length and recorded as TCP for the ladder and the pcap (scapy only
    writes the pcap: it cannot do TCP handshakes, asyncio does the SIP)."""

    via_transport = "TCP"
    uri_suffix = ";transport=tcp"

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.local: tuple[str, int] = ("", 0)
        self.connections: dict[tuple[str, int], _TcpConnection] = {}
        self._server: asyncio.base_events.Server | None = None

    @classmethod
    async def connect(cls, source: str, remote: tuple[str, int], capture: Capture) -> "TcpEndpoint":
        ep = cls(capture)
        transport, _ = await asyncio.get_running_loop().create_connection(
            lambda: _TcpConnection(ep), remote[0], remote[1], local_addr=(source, 0))
        ep.local = transport.get_extra_info("sockname")[:2]
        return ep

    @classmethod
    async def listen(cls, host: str, capture: Capture, port: int) -> "TcpEndpoint":
        ep = cls(capture)
        ep._server = await asyncio.get_running_loop().create_server(lambda: _TcpConnection(ep), host, port,
                                                                   reuse_address=True)
        ep.local = ep._server.sockets[0].getsockname()[:2]
        return ep

    def send(self, data: bytes | Request | Response, addr: tuple[str, int]) -> None:
        raw = data if isinstance(data, bytes) else bytes(data)
        self.capture.add(self.local, addr, raw, "tcp")
        conn = self.connections.get(addr)
        if conn is not None and conn.transport is not None:
            conn.transport.write(raw)

    recv_raw = UdpEndpoint.recv_raw
    recv = UdpEndpoint.recv

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
