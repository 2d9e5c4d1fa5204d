"""What the hostile-input tests share: a record of every destination this process sends to,
a bridge with a routed trunk, a normal call over UDP or TCP, and hostile message builders."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

from livekit import api
from livekit.protocol import room as room_pb
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.server import Bridge
from sipconf.bridge.transaction import T1
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane
from sipconf.sip.message import Request, Response, make_response

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"
GUARD = 5.0  # seconds: only a bound on waiting for a message that must come


def is_loopback_literal(host: object) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Wire:
    """Every UDP ``sendto`` target, TCP ``connect`` target and name lookup of this process.

    Only the addresses in ``reachable`` (the test's own sockets, the bridge, the control
    plane) get the bytes: anything else is recorded and swallowed, so that a stray reply to
    127.0.0.1:5060 never reaches another program on the machine.
    """

    sent: list = field(default_factory=list)
    connected: list = field(default_factory=list)
    looked_up: list = field(default_factory=list)
    reachable: set = field(default_factory=set)

    def off_loopback(self) -> list:
        return [addr for addr in self.sent + self.connected if not is_loopback_literal(addr[0])]

    def names_looked_up(self) -> list:
        return [host for host in self.looked_up if host is not None and not is_loopback_literal(host)
                and host != "localhost"]

    def reaches(self, addr) -> bool:
        return (addr[0], addr[1]) in self.reachable


@contextmanager
def recorded_wire():
    """``with recorded_wire() as wire:`` patch the socket layer for the block."""
    wire = Wire()
    real_sendto, real_connect, real_getaddrinfo = socket.socket.sendto, socket.socket.connect, socket.getaddrinfo

    def sendto(sock, data, *rest):
        addr = rest[-1]
        wire.sent.append(addr)
        if sock.type == socket.SOCK_DGRAM and isinstance(addr, tuple) and not wire.reaches(addr):
            return len(data)  # swallowed: it would have left for somebody else's socket
        return real_sendto(sock, data, *rest)

    def connect(sock, addr):
        wire.connected.append(addr)
        if isinstance(addr, tuple) and not wire.reaches(addr):
            raise ConnectionRefusedError(111, "refused by the test's wire")
        return real_connect(sock, addr)

    def getaddrinfo(host, *args, **kwargs):
        wire.looked_up.append(host.decode() if isinstance(host, bytes) else host)
        if host is not None and not is_loopback_literal(host) and host != "localhost":
            raise socket.gaierror(socket.EAI_NONAME, "the test resolves no names")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.sendto, socket.socket.connect, socket.getaddrinfo = sendto, connect, getaddrinfo
    try:
        yield wire
    finally:
        socket.socket.sendto, socket.socket.connect, socket.getaddrinfo = real_sendto, real_connect, real_getaddrinfo


@asynccontextmanager
async def routed_bridge(tmp_path, wire: Wire | None = None, **bridge_kwargs):
    """``async with routed_bridge(tmp_path) as (bridge, lk, clock):`` an open trunk for
    +15550100 and a direct rule into room "support"; the bridge runs on a ManualClock."""
    clock = bridge_kwargs.pop("clock", None) or ManualClock()
    async with ControlPlane(state_path=tmp_path / "state.db", api_key=KEY, api_secret=SECRET) as cp:
        if wire is not None:
            wire.reachable.add(("127.0.0.1", int(cp.url.rsplit(":", 1)[1])))
        async with Bridge(bridge_ports(cp), clock=clock, **bridge_kwargs) as bridge, \
                api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
            if wire is not None:
                wire.reachable.update({bridge.udp_address, bridge.tcp_address})
            trunk = sip_pb.SIPInboundTrunkInfo(name="hostile", numbers=["+15550100"])
            await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(trunk=trunk))
            rule = sip_pb.SIPDispatchRule(dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name="support"))
            await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(rule=rule))
            yield bridge, lk, clock


@asynccontextmanager
async def agent_for(bridge: Bridge, transport: str, wire: Wire | None = None):
    """A UDP agent, or a TCP agent connected to the bridge; its sockets made reachable."""
    if transport == "udp":
        agent = Agent()
    else:
        agent = Agent(transport="tcp", remote=bridge.tcp_address)
    async with agent:
        if wire is not None:
            wire.reachable.update({agent.transport.local, agent.media.address})
        yield agent


async def answered_call(peer: Agent, target, contact: str | None = None) -> tuple[Request, Response]:
    """+15550111 calls +15550100 (with `contact` as its Contact if given): 200 OK, ACK."""
    invite = peer.invite(target, "+15550111", "+15550100")
    if contact is not None:
        invite.headers = [(name, contact if name == "Contact" else value) for name, value in invite.headers]
    peer.send(invite, target)
    ok = await peer.final_to(invite, GUARD)
    assert (ok.status, ok.reason) == (200, "OK")
    peer.send(peer.ack_for(invite, ok), target)
    return invite, ok


async def bridge_bye_to(bridge: Bridge, lk: api.LiveKitAPI, clock: ManualClock, peer: Agent, contact: str) -> None:
    """An answered call whose caller's Contact is `contact`; the API removes the participant, so
    the bridge sends its BYE there; once that BYE ends the bridge keeps nothing of the call."""
    await answered_call(peer, bridge.udp_address, contact)
    [call] = bridge.dialogs.values()
    await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="support", identity="sip_+15550111"))
    while call.bye_task is None:
        await asyncio.sleep(0)
    clock.advance(64 * T1)  # a BYE that went to a silent loopback port times out (Timer F)
    await asyncio.wait_for(call.bye_task, GUARD)
    assert bridge.dialogs == {} and bridge.participants == {}


async def call_completes(bridge: Bridge, lk: api.LiveKitAPI, transport: str, wire: Wire | None = None) -> None:
    """A normal call: INVITE 200, ACK, the participant in the room, BYE 200, room empty."""
    async with agent_for(bridge, transport, wire) as peer:
        target = bridge.udp_address if transport == "udp" else bridge.tcp_address
        invite, ok = await answered_call(peer, target)
        listed = await lk.room.list_participants(room_pb.ListParticipantsRequest(room="support"))
        assert [p.identity for p in listed.participants] == ["sip_+15550111"]
        bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
        peer.send(bye, target)
        assert (await peer.final_to(bye, GUARD)).status == 200
        listed = await lk.room.list_participants(room_pb.ListParticipantsRequest(room="support"))
        assert list(listed.participants) == []


def options(via: str, call_id: str | None = None, contact: str | None = None) -> bytes:
    """An OPTIONS with the given top Via line (raw: it may hold any byte)."""
    call_id = call_id or f"hostile-{secrets.token_hex(6)}"
    lines = [f"OPTIONS sip:bridge@127.0.0.1 SIP/2.0", f"Via: {via}", "Max-Forwards: 70",
             "From: <sip:probe@127.0.0.1>;tag=h", "To: <sip:bridge@127.0.0.1>", f"Call-ID: {call_id}",
             "CSeq: 1 OPTIONS"]
    if contact is not None:
        lines.append(f"Contact: {contact}")
    return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode("utf-8", "surrogateescape")


class Replies(asyncio.DatagramProtocol):
    """A client UDP socket that keeps what it receives (raw)."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.changed = asyncio.Event()

    def datagram_received(self, data: bytes, addr) -> None:
        self.received.append(data)
        self.changed.set()

    async def wait_for(self, needle: bytes) -> bytes:
        async def scan() -> bytes:
            while True:
                for data in self.received:
                    if needle in data:
                        return data
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(scan(), GUARD)


def answer_requests_ok(message, source) -> None:
    """A handler for a bare SipServer: every request gets its 200 OK, responses are dropped."""
    if isinstance(message, Request):
        source.send(make_response(message, 200, "OK"))


async def udp_client(wire: Wire | None = None) -> tuple[asyncio.DatagramTransport, Replies, tuple[str, int]]:
    transport, replies = await asyncio.get_running_loop().create_datagram_endpoint(
        Replies, local_addr=("127.0.0.1", 0))
    local = transport.get_extra_info("sockname")[:2]
    if wire is not None:
        wire.reachable.add(local)
    return transport, replies, local


async def udp_probe_answered(sender: asyncio.DatagramTransport, replies: Replies, local: tuple[str, int],
                             bridge_address: tuple[str, int]) -> None:
    """An OPTIONS with a sane Via gets its 200: every datagram sent before it was handled
    (datagrams between two loopback sockets keep their order)."""
    call_id = f"probe-{secrets.token_hex(6)}"
    sender.sendto(options(f"SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{secrets.token_hex(6)};rport",
                          call_id), bridge_address)
    answer = await replies.wait_for(f"Call-ID: {call_id}".encode())
    assert answer.startswith(b"SIP/2.0 200 OK"), answer[:80]


async def tcp_probe_answered(bridge_address: tuple[str, int], before: bytes = b"") -> bytes:
    """Send ``before`` then an OPTIONS on one new TCP connection; the 200 must come.  Returns
    what the connection received."""
    reader, writer = await asyncio.open_connection(*bridge_address)
    try:
        local = writer.get_extra_info("sockname")[:2]
        call_id = f"probe-{secrets.token_hex(6)}"
        writer.write(before + options(f"SIP/2.0/TCP {local[0]}:{local[1]};branch=z9hG4bK{secrets.token_hex(6)}",
                                      call_id))
        await writer.drain()
        received = b""
        needle = f"Call-ID: {call_id}".encode()
        while needle not in received:
            chunk = await asyncio.wait_for(reader.read(65536), GUARD)
            assert chunk, f"connection closed before the probe was answered: {received[-200:]!r}"
            received += chunk
        tail = received[received.rfind(b"SIP/2.0 ", 0, received.index(needle)):]
        assert tail.startswith(b"SIP/2.0 200 OK"), tail[:80]
        return received
    finally:
        writer.close()
        await writer.wait_closed()
