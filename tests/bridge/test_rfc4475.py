"""RFC 4475 torture messages against a running bridge on 127.0.0.1 over real UDP and TCP.

Every message of `tests/sip/data/rfc4475/` is sent as stored and must get the answer its
entry in `expected.toml` gives; afterwards a normal call still completes.  The client
sends from a random loopback address, port 5060 (and listens on 5050 too), so the bridge's
RFC 3261 18.2.2 answer to a Via naming some other host reaches it through `received`.
The bridge runs on a ManualClock; between two messages every transaction is let end, since
several RFC messages share a branch and sent-by and would otherwise match each other.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import secrets
import tomllib
from pathlib import Path

import pytest
from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.bridge.transaction import T1, T4, ServerState, build_ack_for_non2xx
from sipconf.bridge.transport import loopback_destination
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane
from sipconf.sip.message import Message, Request, Response, check_mandatory, parse

from .conftest import served_callee
from .hostile_helpers import call_completes

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"
DATA = Path(__file__).parent.parent / "sip" / "data" / "rfc4475"
TABLE = tomllib.loads((DATA / "expected.toml").read_text())
GUARD = 5.0  # seconds: only a bound on waiting for a message that must come
LINGER = 64 * T1 + T4  # past Timers H, I, J and L: every transaction has ended
PORTS = (5060, 5050)  # the Via ports of the RFC messages (5060 when none is written)


# -- reading what was sent and what came back ----------------------------------------------

def raw_header(data: bytes, *names: str) -> str | None:
    """The first value of a header in raw bytes, folding undone and white space collapsed;
    read without our parser, since many of these messages are meant to break it."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    head = re.sub(r"\r\n[ \t]+", " ", head)
    for line in head.split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in names:
            return " ".join(value.split())
    return None


def request_key(data: bytes) -> tuple[str | None, str | None]:
    return raw_header(data, "call-id", "i"), raw_header(data, "cseq")


def response_key(msg: Message) -> tuple[str | None, str | None]:
    cseq = msg.get("cseq")
    return msg.get("call-id"), " ".join(cseq.split()) if cseq is not None else None


def answers(key: tuple[str | None, str | None]):
    return lambda msg: isinstance(msg, Response) and msg.status >= 200 and response_key(msg) == key


def parsed_invite(data: bytes) -> Request | None:
    try:
        msg = parse(data)
        check_mandatory(msg)
    except ValueError:
        return None
    return msg if isinstance(msg, Request) and msg.method == "INVITE" else None


def outcome(entry: dict, transport: str) -> dict:
    expect = entry.get(transport, entry["expect"]) if transport == "tcp" else entry["expect"]
    if not isinstance(expect, int):
        return {"status": expect}
    want: dict = {"status": expect, "headers": entry.get("headers", {})}
    if transport == "udp":
        want["port"] = entry.get("reply_port", 5060)
    elif entry.get("tcp_closes"):
        want["closed"] = True
    return want


def observed(response: Response, entry: dict) -> dict:
    return {"status": response.status, "headers": {name: response.get(name) for name in entry.get("headers", {})}}


def probe(host: str, port: int, transport: str) -> bytes:
    """An OPTIONS whose 200 shows that everything sent before it was handled."""
    rport = ";rport" if transport == "UDP" else ""
    return (f"OPTIONS sip:bridge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} {host}:{port};branch=z9hG4bK"
            f"{secrets.token_hex(6)}{rport}\r\nFrom: <sip:probe@{host}>;tag=p\r\nTo: <sip:bridge@127.0.0.1>\r\n"
            f"Call-ID: probe-{secrets.token_hex(6)}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


# -- the UDP side ----------------------------------------------------------------------------

class Inbox:
    """What the client's sockets received, in order, with the port each arrived on."""

    def __init__(self) -> None:
        self.items: list[tuple[Message, int]] = []
        self.changed = asyncio.Event()

    def add(self, msg: Message, port: int) -> None:
        self.items.append((msg, port))
        self.changed.set()

    async def first(self, predicate, start: int) -> tuple[Message, int] | None:
        async def scan() -> tuple[Message, int]:
            seen = start
            while True:
                for msg, port in self.items[seen:]:
                    if predicate(msg):
                        return msg, port
                seen = len(self.items)
                self.changed.clear()
                await self.changed.wait()

        try:
            return await asyncio.wait_for(scan(), GUARD)
        except asyncio.TimeoutError:
            return None


class Socket(asyncio.DatagramProtocol):
    def __init__(self, inbox: Inbox, port: int) -> None:
        self.inbox, self.port = inbox, port

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            self.inbox.add(parse(data), self.port)
        except ValueError as err:  # the bridge must never send what does not parse
            self.inbox.add(Response(status=999, reason=f"unparsable: {err}"), self.port)


async def bind_client(inbox: Inbox) -> tuple[str, dict[int, asyncio.DatagramTransport]]:
    """UDP sockets on ports 5060 and 5050 of a random 127.a.b.c (retried while taken)."""
    loop = asyncio.get_running_loop()
    for _ in range(20):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"
        sockets: dict[int, asyncio.DatagramTransport] = {}
        try:
            for port in PORTS:
                sockets[port], _ = await loop.create_datagram_endpoint(
                    lambda port=port: Socket(inbox, port), local_addr=(host, port))
            return host, sockets
        except OSError:
            for transport in sockets.values():
                transport.close()
    raise OSError("no loopback address with UDP ports 5060 and 5050 free")


async def over_udp(bridge: Bridge, inbox: Inbox, host: str, sockets, name: str) -> dict:
    entry = TABLE[name]
    data = (DATA / f"{name}.sip").read_bytes()
    key = request_key(data)
    start = len(inbox.items)
    sockets[5060].sendto(data, bridge.udp_address)
    if entry["expect"] == "drop" or entry.get("unanswered"):
        # Datagrams between two loopback sockets keep their order: once the probe is
        # answered, anything the bridge had to say about the message is here too.
        probe_data = probe(host, 5060, "UDP")
        sockets[5060].sendto(probe_data, bridge.udp_address)
        if await inbox.first(answers(request_key(probe_data)), start) is None:
            return {"status": "no answer to the probe"}
        for call_id in entry.get("unanswered", []):
            if any(m.get("call-id") == call_id for m, _ in inbox.items[start:]):
                return {"status": f"answered {call_id}"}
        if entry["expect"] == "drop":
            stray = [m for m, _ in inbox.items[start:] if response_key(m) == key]
            return {"status": "drop"} if not stray else {"status": stray[0].status}
    got = await inbox.first(answers(key), start)
    if got is None:
        return {"status": "no answer"}
    response, port = got
    result = observed(response, entry) | {"port": port}
    invite = parsed_invite(data)
    if invite is not None and response.status >= 300:
        # RFC 3261 17.1.1.3: ACK the final response; it must end in the INVITE's own
        # transaction, also when that was matched by the RFC 2543 rules.
        sockets[5060].sendto(bytes(build_ack_for_non2xx(invite, response)), bridge.udp_address)
        probe_data = probe(host, 5060, "UDP")
        sockets[5060].sendto(probe_data, bridge.udp_address)
        await inbox.first(answers(request_key(probe_data)), start)
        state = bridge.tm.state_of(invite)
        if state is not ServerState.CONFIRMED:
            result["ack"] = f"INVITE transaction state {state.value if state is not None else None}"
    return result


# -- the TCP side ----------------------------------------------------------------------------

async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """The next message on the stream, or None at its end."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GUARD)
        length = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
        body = await asyncio.wait_for(reader.readexactly(int(length.group(1)) if length else 0), GUARD)
    except asyncio.IncompleteReadError:
        return None
    return parse(head + body)


async def read_until(reader: asyncio.StreamReader, predicate) -> tuple[Message | None, list[Message]]:
    """Read until a message matching `predicate`; also what came before it."""
    before: list[Message] = []
    while True:
        msg = await read_message(reader)
        if msg is None or predicate(msg):
            return msg, before
        before.append(msg)


async def over_tcp(bridge: Bridge, host: str, name: str) -> dict:
    entry = TABLE[name]
    data = (DATA / f"{name}.sip").read_bytes()
    key = request_key(data)
    reader, writer = await asyncio.open_connection(*bridge.tcp_address, local_addr=(host, 0))
    try:
        writer.write(data)
        await writer.drain()
        expect = entry.get("tcp", entry["expect"])
        if expect == "waits":
            writer.write_eof()  # the bridge cannot know the body will never come: it just closes
            rest = await asyncio.wait_for(reader.read(), GUARD)
            return {"status": "waits" if rest == b"" else f"sent {rest[:60]!r}"}
        if expect == "drop":
            local_port = writer.get_extra_info("sockname")[1]
            probe_data = probe(host, local_port, "TCP")
            writer.write(probe_data)
            await writer.drain()
            answer, before = await read_until(reader, answers(request_key(probe_data)))
            stray = [m for m in before if response_key(m) == key]
            if answer is None:
                return {"status": "no answer to the probe"}
            return {"status": "drop"} if not stray else {"status": stray[0].status}
        response, _ = await read_until(reader, answers(key))
        if response is None:
            return {"status": "no answer"}
        result = observed(response, entry)
        if entry.get("tcp_closes"):
            result["closed"] = await asyncio.wait_for(reader.read(), GUARD) == b""
        else:
            invite = parsed_invite(data)
            if invite is not None and response.status >= 300:
                writer.write(bytes(build_ack_for_non2xx(invite, response)))
                await writer.drain()
        return result
    finally:
        writer.close()


# -- the run ---------------------------------------------------------------------------------

def run_torture(tmp_path: Path, transport: str) -> dict[str, dict]:
    names = [name for name in sorted(TABLE) if transport in TABLE[name].get("transports", ["udp", "tcp"])]
    seen: dict[str, dict] = {}

    async def main() -> None:
        clock = ManualClock()
        async with ControlPlane(state_path=tmp_path / "state.db", api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp), clock=clock) as bridge, api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                trunk = sip_pb.SIPInboundTrunkInfo(name="torture", numbers=["+15550100"])
                await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(trunk=trunk))
                rule = sip_pb.SIPDispatchRule(dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name="support"))
                await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(rule=rule))
                inbox = Inbox()
                host, sockets = await bind_client(inbox)
                try:
                    for name in names:
                        if transport == "udp":
                            seen[name] = await over_udp(bridge, inbox, host, sockets, name)
                        else:
                            seen[name] = await over_tcp(bridge, host, name)
                        clock.advance(LINGER)
                    await call_completes(bridge, lk, "udp")
                finally:
                    for socket in sockets.values():
                        socket.close()

    asyncio.run(main())
    return seen


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_every_torture_message_gets_its_answer_then_a_call_completes(tmp_path: Path, transport: str) -> None:
    seen = run_torture(tmp_path, transport)
    expected = {name: outcome(TABLE[name], transport) for name in seen}
    assert seen == expected
    assert len(seen) == (49 if transport == "udp" else 47)


# -- never off loopback ----------------------------------------------------------------------

@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"), ("127.9.8.7", "127.9.8.7"), ("[::1]", "::1"), ("localhost", "127.0.0.1"),
    ("192.0.2.1", None), ("255.255.255.255", None), ("ss1.example.com", None), ("[2001:db8::1]", None),
])
def test_only_loopback_ip_literals_are_destinations(host: str, address: str | None) -> None:
    assert loopback_destination(host) == address


def test_a_reply_to_a_via_maddr_off_loopback_or_by_name_is_dropped_unresolved(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="sipconf.bridge.transport")

    async def main() -> int:
        async with served_callee() as (server, _callee):
            inbox = Inbox()
            loop = asyncio.get_running_loop()
            sender, _ = await loop.create_datagram_endpoint(lambda: Socket(inbox, 0), local_addr=("127.0.0.1", 0))
            port = sender.get_extra_info("sockname")[1]
            try:
                for maddr in ("192.0.2.1", "ss1.example.com"):
                    request = probe("127.0.0.1", port, "UDP").replace(b";rport", f";maddr={maddr}".encode())
                    sender.sendto(request, server.udp_address)
                last = probe("127.0.0.1", port, "UDP")
                sender.sendto(last, server.udp_address)
                assert await inbox.first(answers(request_key(last)), 0) is not None
                assert len(inbox.items) == 1  # the replies to the two maddr requests went nowhere
                with pytest.raises(ConnectionError) as info:
                    await server.tcp_source(("192.0.2.1", 5060))
                assert str(info.value) == "not connecting to 192.0.2.1:5060: only loopback IP addresses are reachable"
            finally:
                sender.close()
        return port

    port = asyncio.run(main())
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("not sent to")]
    assert warnings == [f"not sent to 192.0.2.1:{port}: only loopback IP addresses are reachable",
                        f"not sent to ss1.example.com:{port}: not an IP address (host names are never resolved)"]
