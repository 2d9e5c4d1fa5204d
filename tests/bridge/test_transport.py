"""UDP and TCP transports on 127.0.0.1:0: round trips, framing, limits, hostile input.

Waiting is always for a message or EOF with a generous guard; timers use a manual clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from pathlib import Path

from sipconf.bridge.clock import ManualClock
from sipconf.sip.message import Response, parse
from sipconf.bridge.transport import Limits, SipServer, bad_request_for

from sipconf.agent import Script

from .conftest import options, served_callee

GUARD = 5.0
GOOD = [p.read_bytes() for p in sorted((Path(__file__).parent.parent / "sip" / "data" / "good").glob("*.sip"))]


class UdpClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Response] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.queue.put_nowait(parse(data))

    async def response_for(self, call_id: str) -> Response:
        while True:
            message = await asyncio.wait_for(self.queue.get(), GUARD)
            if message.get("call-id") == call_id:  # a 400 to a request without one has none
                return message


async def udp_client(addr):
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(UdpClient, remote_addr=addr)
    return transport, client


async def read_message(reader: asyncio.StreamReader) -> Response:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GUARD)
    length = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
    body = await asyncio.wait_for(reader.readexactly(int(length.group(1)) if length else 0), GUARD)
    return parse(head + body)


def test_udp_round_trip() -> None:
    async def main() -> None:
        async with served_callee() as (server, callee):
            transport, client = await udp_client(server.udp_address)
            transport.sendto(options("u1"))
            response = await client.response_for("u1")
            assert (response.status, response.to.tag) == (200, callee.tag)
            transport.close()

    asyncio.run(main())


def test_tcp_round_trip_with_split_and_coalesced_frames() -> None:
    async def main() -> None:
        async with served_callee() as (server, callee):
            reader, writer = await asyncio.open_connection(*server.tcp_address)
            one, two = options("t1", "z9hG4bK1", "TCP"), options("t2", "z9hG4bK2", "TCP")
            writer.write(b"\r\n\r\n" + one[:10])  # keep-alive, then a split frame
            await writer.drain()
            writer.write(one[10:] + two)
            await writer.drain()
            assert (await read_message(reader)).call_id == "t1"
            assert (await read_message(reader)).call_id == "t2"
            writer.close()

    asyncio.run(main())


def test_tcp_body_framed_by_content_length() -> None:
    async def main() -> None:
        async with served_callee() as (server, callee):
            reader, writer = await asyncio.open_connection(*server.tcp_address)
            invite = GOOD[2]  # invite.sip, with an SDP body
            assert invite.startswith(b"INVITE")
            writer.write(invite.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP"))
            await writer.drain()
            statuses = [(await read_message(reader)).status for _ in range(2)]
            assert statuses == [100, 200]
            writer.close()

    asyncio.run(main())


def test_malformed_request_gets_400_with_warning_or_is_dropped() -> None:
    async def main() -> None:
        async with served_callee() as (server, callee):
            transport, client = await udp_client(server.udp_address)
            transport.sendto(options("m1").replace(b"Content-Length: 0", b"Content-Length: x"))
            response = await client.response_for("m1")
            assert (response.status, response.reason) == (400, "Bad Request")
            assert response.get("warning") == "399 sipconf \"invalid Content-Length: 'x'\""
            transport.sendto(b"garbage without headers\r\n\r\n")
            transport.sendto(options("m2"))
            assert (await client.response_for("m2")).status == 200
            assert (server.rejected, server.dropped) == (1, 1)
            transport.close()

    asyncio.run(main())


def test_too_many_headers_is_answered_400() -> None:
    async def main() -> None:
        async with served_callee(limits=Limits(max_headers=10)) as (server, callee):
            transport, client = await udp_client(server.udp_address)
            transport.sendto(options("h1").replace(b"\r\n\r\n", b"\r\n" + b"X-A: 1\r\n" * 10 + b"\r\n"))
            response = await client.response_for("h1")
            assert response.get("warning") == '399 sipconf "too many headers (more than 10)"'
            transport.close()

    asyncio.run(main())


def test_oversize_datagram_is_dropped(caplog) -> None:
    caplog.set_level(logging.WARNING, "sipconf.bridge.transport")

    async def main() -> None:
        async with served_callee(limits=Limits(max_message_size=1000)) as (server, callee):
            transport, client = await udp_client(server.udp_address)
            big = options("o1").replace(b"\r\n\r\n", b"\r\nX-Pad: " + b"a" * 1200 + b"\r\n\r\n")
            transport.sendto(big)
            transport.sendto(options("o2"))
            assert (await client.response_for("o2")).status == 200
            assert client.queue.empty()
            transport.close()

    asyncio.run(main())
    assert any("byte datagram from 127.0.0.1" in m and "(limit 1000)" in m for m in caplog.messages)


def test_idle_tcp_connection_is_closed_on_the_injected_clock() -> None:
    async def main() -> None:
        clock = ManualClock()
        async with served_callee(clock=clock, limits=Limits(tcp_first_message_timeout=10)) as (server, callee):
            idle_reader, idle_writer = await asyncio.open_connection(*server.tcp_address)
            busy_reader, busy_writer = await asyncio.open_connection(*server.tcp_address)
            busy_writer.write(options("i1", transport="TCP"))
            await busy_writer.drain()
            assert (await read_message(busy_reader)).status == 200
            while len(server.connections) < 2:  # the idle one's connection_made may lag
                await asyncio.sleep(0)
            clock.advance(10)
            assert await asyncio.wait_for(idle_reader.read(), GUARD) == b""  # EOF
            busy_writer.write(options("i2", "z9hG4bKi2", transport="TCP"))
            await busy_writer.drain()
            assert (await read_message(busy_reader)).call_id == "i2"
            idle_writer.close()
            busy_writer.close()

    asyncio.run(main())


def test_tcp_connection_limit_refuses_when_no_connection_is_idle() -> None:
    """A full table whose every connection is half-way through a message has nobody to
    evict: the new connection is closed at once."""
    async def main() -> None:
        async with served_callee(limits=Limits(max_tcp_connections=2)) as (server, callee):
            conns = [await asyncio.open_connection(*server.tcp_address) for _ in range(2)]
            for _, writer in conns:
                writer.write(b"OPTIONS sip:uas@127.0.0.1 SIP/2.0\r\n")  # no end of headers yet
                await writer.drain()
            while sum(bool(c.buffer) for c in server.connections) < 2:
                await asyncio.sleep(0)
            reader, writer = await asyncio.open_connection(*server.tcp_address)
            assert await asyncio.wait_for(reader.read(), GUARD) == b""
            assert len(server.connections) == 2 and server.evicted == 0
            for _, w in [*conns, (reader, writer)]:
                w.close()

    asyncio.run(main())


def test_lost_tcp_framing_closes_the_connection() -> None:
    async def main() -> None:
        async with served_callee(limits=Limits(max_message_size=2000)) as (server, callee):
            reader, writer = await asyncio.open_connection(*server.tcp_address)
            writer.write(options("f1", transport="TCP").replace(b"Content-Length: 0", b"Content-Length: 99999"))
            await writer.drain()
            response = await read_message(reader)
            assert response.get("warning") == '399 sipconf "message of 100200 bytes exceeds 2000"'
            assert await asyncio.wait_for(reader.read(), GUARD) == b""
            writer.close()

    asyncio.run(main())


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    choice = rng.randrange(5)
    if choice == 0:
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif choice == 1:
        del buf[rng.randrange(len(buf)) :]
    elif choice == 2:
        pos = rng.randrange(len(buf))
        buf[pos:pos] = rng.choice([b":", b"\r\n", b"\r\n\r\n", b"\x00", b";;", b'"', b"<", b" "]) * rng.randint(1, 50)
    elif choice == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    else:
        lines = bytes(buf).split(b"\r\n")
        rng.shuffle(lines)
        return b"\r\n".join(lines)
    return bytes(buf)


def test_fuzzed_datagrams_and_truncated_streams_leave_the_server_working() -> None:
    async def main() -> None:
        rng = random.Random(5060)
        async with served_callee(Script(status=603)) as (server, callee):
            tasks_before = set(asyncio.all_tasks())
            transport, client = await udp_client(server.udp_address)
            # 40 batches of 50, each followed by a probe: keeps socket buffers from overflowing
            # and proves the server still answers after every batch.
            for batch in range(40):
                for _ in range(50):
                    transport.sendto(mutate(rng, rng.choice(GOOD)))
                transport.sendto(options(f"probe-{batch}", f"z9hG4bKprobe{batch}"))
                assert (await client.response_for(f"probe-{batch}")).status == 200
            for _ in range(30):
                reader, writer = await asyncio.open_connection(*server.tcp_address)
                data = rng.choice(GOOD)
                writer.write(data[: rng.randrange(1, len(data))])
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            reader, writer = await asyncio.open_connection(*server.tcp_address)
            writer.write(options("after-tcp", "z9hG4bKtcp", transport="TCP"))
            await writer.drain()
            assert (await read_message(reader)).status == 200
            writer.close()
            await writer.wait_closed()
            transport.close()
            leaked = {t for t in asyncio.all_tasks() - tasks_before if t is not asyncio.current_task()}
            assert leaked == set()
            while len(server.connections) > 1:  # the last one closes asynchronously
                await asyncio.sleep(0)

    asyncio.run(main())


def test_bad_request_for_never_answers_responses_or_acks() -> None:
    ack = options("x").replace(b"OPTIONS sip", b"ACK sip").replace(b"Content-Length: 0", b"Content-Length: x")
    assert bad_request_for(ack, "e") is None
    assert bad_request_for(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", "e") is None
    assert bad_request_for(options("y"), 'quote " and \r\n') .get("warning") == "399 sipconf \"quote ' and ''\""


def test_tcp_message_trickled_past_its_read_deadline_closes_the_connection(caplog) -> None:
    """After a first message, a peer that trickles the next one slowly is cut off when that
    message is still incomplete `tcp_message_timeout` after its first byte (ManualClock)."""
    async def main() -> None:
        clock = ManualClock()
        async with served_callee(clock=clock, limits=Limits(tcp_message_timeout=10)) as (server, callee):
            reader, writer = await asyncio.open_connection(*server.tcp_address)
            writer.write(options("d1", "z9hG4bKd1", transport="TCP"))
            await writer.drain()
            assert (await read_message(reader)).call_id == "d1"
            clock.advance(60)  # idle between messages is fine: no message is pending
            slow = options("d2", "z9hG4bKd2", transport="TCP")
            (conn,) = server.connections
            for i in range(0, 40, 4):  # a byte every second, never finishing
                writer.write(slow[i:i + 1])
                await writer.drain()
                while len(conn.buffer) < i // 4 + 1:
                    await asyncio.sleep(0)
                clock.advance(0.95)
            assert not conn.transport.is_closing()  # 9.5 s after the first byte
            clock.advance(0.5)
            assert await asyncio.wait_for(reader.read(), GUARD) == b""  # EOF
            assert callee.methods == ["OPTIONS"]
            writer.close()

    with caplog.at_level(logging.WARNING, logger="sipconf.bridge.transport"):
        asyncio.run(main())
    assert any("message incomplete after 10 s (10 bytes)" in m for m in caplog.messages)


def test_tcp_read_deadline_is_per_message() -> None:
    """A message completed in time clears the deadline; the next one gets a fresh one."""
    async def main() -> None:
        clock = ManualClock()
        async with served_callee(clock=clock, limits=Limits(tcp_message_timeout=10)) as (server, callee):
            reader, writer = await asyncio.open_connection(*server.tcp_address)
            first, second = options("p1", "z9hG4bKp1", transport="TCP"), options("p2", "z9hG4bKp2", transport="TCP")
            writer.write(first[:20])
            await writer.drain()
            while not server.connections or not next(iter(server.connections)).buffer:
                await asyncio.sleep(0)
            clock.advance(9)
            writer.write(first[20:] + second[:20])  # p1 completes, p2 starts at t=9
            await writer.drain()
            assert (await read_message(reader)).call_id == "p1"
            clock.advance(9)  # t=18: 9 s into p2, 18 s since p1 started
            writer.write(second[20:])
            await writer.drain()
            assert (await read_message(reader)).call_id == "p2"
            clock.advance(30)
            writer.write(options("p3", "z9hG4bKp3", transport="TCP"))
            await writer.drain()
            assert (await read_message(reader)).call_id == "p3"
            writer.close()

    asyncio.run(main())


def test_port_zero_takes_one_free_port_number_for_udp_and_tcp():
    """A client can switch transport without learning a second address (RFC 3261 18)."""

    async def main():
        async with SipServer(lambda msg, src: None, "127.0.0.1", 0, 0) as server:
            assert server.udp_address[1] == server.tcp_address[1] != 0

    asyncio.run(main())
