"""Loopback UDP endpoints that record every datagram of a call, for the ladder and the pcap.

Sockets are ordinary (rootless); each one is bound to the scenario's 127.0.0.0/8 source so
an allowlist sees that address. Messages are parsed with the bridge's own SIP parser.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sipconf.bridge.message import Request, Response, parse
from simulator.result import Packet


@dataclass
class Capture:
    """Every datagram of one call, stamped relative to the call's start."""

    start: float = field(default_factory=time.monotonic)
    packets: list[Packet] = field(default_factory=list)

    def add(self, src: tuple[str, int], dst: tuple[str, int], data: bytes) -> None:
        self.packets.append(Packet(time.monotonic() - self.start, src, dst, bytes(data)))


class UdpEndpoint(asyncio.DatagramProtocol):
    """One bound UDP socket; incoming datagrams queue up for `recv`/`recv_raw`."""

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
