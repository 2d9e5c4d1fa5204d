"""Loopback transports for the scripted agent: one UDP socket, or SIP over TCP (a client
connected from a chosen source address, or a listener).

A transport only frames and delivers: every complete message goes, as bytes, to its
`deliver(data, addr)` callback, and every message in either direction to its optional `tap`
(the simulator's capture, for the ladder and the pcap). No task is created here; asyncio's
protocol callbacks drive everything. By default the agent talks to loopback peers only: a
destination outside 127.0.0.0/8 and ::1 is refused before anything is sent. A transport built
with `allow_external=True` (an operator's explicit choice, e.g. a Locust worker loading a
bridge on another host) may also send to other IP addresses. Either way a destination is an
IP literal with a port in 1-65535: a host name is never resolved.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Callable, Protocol

__all__ = ["Address", "Deliver", "Tap", "TcpTransport", "Transport", "UdpTransport", "check_destination", "frame", "require_loopback"]

Address = tuple[str, int]
Deliver = Callable[[bytes, Address], None]
# (source, destination, bytes, "udp" or "tcp"): one message, sent or received.
Tap = Callable[[Address, Address, bytes, str], None]


class Transport(Protocol):
    """What the agent needs of a transport; the bridge tests put one over the bridge's server."""

    name: str  # the Via transport: "UDP" or "TCP"
    uri_suffix: str  # the Contact URI parameter naming it ("" for UDP)
    local: Address
    deliver: Deliver

    def send(self, data: bytes, addr: Address) -> None: ...

    async def close(self) -> None: ...


def check_destination(addr: Address, allow_external: bool = False) -> None:
    """Raise ValueError unless `addr` is somewhere the agent may send: an IP literal (never a
    name to resolve) with a port in 1-65535, on loopback unless `allow_external`."""
    host, port = addr[0], addr[1]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if not allow_external and (address is None or not address.is_loopback):
        raise ValueError(f"the agent sends to loopback addresses only, not {host!r}")
    if address is None:
        raise ValueError(f"the agent sends to IP addresses only, not {host!r} (host names are not resolved)")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"the agent sends to ports 1-65535 only, not {port!r}")


def require_loopback(addr: Address) -> None:
    check_destination(addr, allow_external=False)


def _ignore(data: bytes, addr: Address) -> None:
    """Delivery before an agent took the transport over: nothing can arrive yet."""


class UdpTransport(asyncio.DatagramProtocol):
    """One bound UDP socket (SIP, or the agent's RTP)."""

    name = "UDP"
    uri_suffix = ""

    def __init__(self, tap: Tap | None, allow_external: bool = False) -> None:
        self.tap = tap
        self.allow_external = allow_external
        self.deliver: Deliver = _ignore
        self.local: Address = ("", 0)
        self._transport: asyncio.DatagramTransport | None = None
        self._closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def bind(cls, host: str, port: int = 0, tap: Tap | None = None,
                   allow_external: bool = False) -> UdpTransport:
        endpoint = cls(tap, allow_external)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: endpoint, local_addr=(host, port))
        return endpoint

    def connection_made(self, transport) -> None:
        self._transport = transport
        self.local = transport.get_extra_info("sockname")[:2]

    def connection_lost(self, exc) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    def datagram_received(self, data: bytes, addr) -> None:
        source = addr[:2]
        if self.tap is not None:
            self.tap(source, self.local, data, "udp")
        self.deliver(data, source)

    def send(self, data: bytes, addr: Address) -> None:
        check_destination(addr, self.allow_external)
        if self._transport is None or self._transport.is_closing():
            return
        if self.tap is not None:
            self.tap(self.local, addr, data, "udp")
        self._transport.sendto(data, addr)

    async def close(self) -> None:
        """Close and wait until the port is released (the next scenario may bind it again)."""
        if self._transport is not None:
            self._transport.close()
            await asyncio.shield(self._closed)


_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$", re.I | re.M)


def frame(buffer: bytearray) -> bytes | None:
    """Take one SIP message off a TCP byte stream, framed by Content-Length (RFC 3261
    18.3); None until it is complete. CRLF keep-alives between messages are dropped."""
    while buffer[:2] == b"\r\n":
        del buffer[:2]
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    match = _CONTENT_LENGTH.search(bytes(buffer[:end]))
    total = end + 4 + (int(match.group(1)) if match else 0)
    if len(buffer) < total:
        return None
    message = bytes(buffer[:total])
    del buffer[:total]
    return message


class _Connection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self.owner = owner
        self.buffer = bytearray()
        self.peer: Address = ("", 0)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.peer = transport.get_extra_info("peername")[:2]
        self.owner.connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (message := frame(self.buffer)) is not None:
            if self.owner.tap is not None:
                self.owner.tap(self.peer, self.owner.local, message, "tcp")
            self.owner.deliver(message, self.peer)

    def connection_lost(self, exc) -> None:
        if self.owner.connections.get(self.peer) is self:
            del self.owner.connections[self.peer]


class TcpTransport:
    """SIP over TCP: a client connected from a chosen source, or a listener (the
    far end of an outbound call). Messages to an address go on the connection from it; one
    with no connection (the peer closed it) is dropped, as a datagram would be lost."""

    name = "TCP"
    uri_suffix = ";transport=tcp"

    def __init__(self, tap: Tap | None, allow_external: bool = False) -> None:
        self.tap = tap
        self.allow_external = allow_external
        self.deliver: Deliver = _ignore
        self.local: Address = ("", 0)
        self.connections: dict[Address, _Connection] = {}
        self._server: asyncio.base_events.Server | None = None

    @classmethod
    async def connect(cls, source: str, remote: Address, tap: Tap | None = None,
                      allow_external: bool = False) -> TcpTransport:
        check_destination(remote, allow_external)
        endpoint = cls(tap, allow_external)
        transport, _ = await asyncio.get_running_loop().create_connection(
            lambda: _Connection(endpoint), remote[0], remote[1], local_addr=(source, 0))
        endpoint.local = transport.get_extra_info("sockname")[:2]
        return endpoint

    @classmethod
    async def listen(cls, host: str, port: int = 0, tap: Tap | None = None,
                     allow_external: bool = False) -> TcpTransport:
        endpoint = cls(tap, allow_external)
        # reuse_address: a far end listens again on the trunk's port right after the last one.
        endpoint._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(endpoint), host, port, reuse_address=True)
        endpoint.local = endpoint._server.sockets[0].getsockname()[:2]
        return endpoint

    def send(self, data: bytes, addr: Address) -> None:
        check_destination(addr, self.allow_external)
        connection = self.connections.get(addr)
        if connection is None or connection.transport is None or connection.transport.is_closing():
            return
        if self.tap is not None:
            self.tap(self.local, addr, data, "tcp")
        connection.transport.write(data)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections.values()):
            if connection.transport is not None:
                connection.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
