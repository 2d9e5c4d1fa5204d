"""The scripted agent's callee behind the bridge's own SipServer (for the transport tests and
the SIPp end-to-end test: the server is their subject), and small socket helpers."""

from __future__ import annotations

import socket
from contextlib import asynccontextmanager

import pytest

from sipconf.agent import Agent, Callee, Script
from sipconf.bridge.clock import Clock, LoopClock
from sipconf.bridge.transport import Limits, SipServer, Source
from sipconf.sip.message import Request, Response, parse


class ServerLink:
    """The agent's transport made of a bridge SipServer: what the server parses goes to the
    agent, and the agent's answers go back through the server's own sources, so a response
    follows the server's Via rules (RFC 3261 18.2.2)."""

    name = "UDP"
    uri_suffix = ""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.server = SipServer(self._handle, limits=limits, clock=clock)
        self.deliver = lambda data, addr: None
        self._sources: dict[tuple[str, int], Source] = {}

    @property
    def local(self) -> tuple[str, int]:
        return self.server.udp_address

    def _handle(self, message: Request | Response, source: Source) -> None:
        self._sources[source.addr] = source
        self.deliver(bytes(message), source.addr)

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        source = self._sources.get(addr) or self.server.udp_source(addr)
        source.send(parse(data))  # as a message: a Response goes where its request's Via says

    async def close(self) -> None:
        await self.server.close()


@asynccontextmanager
async def served_callee(script: Script | None = None, limits: Limits | None = None, clock: Clock | None = None):
    """`async with served_callee() as (server, callee)`: a SipServer whose calls the agent answers."""
    link = ServerLink(limits or Limits(), clock or LoopClock())
    await link.server.start()
    async with Agent(transport=link) as agent:
        callee: Callee = agent.answer(script)
        yield link.server, callee


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
