"""TCP connections cannot lock the listener: an idle timeout after the last message, a
per-source cap (trusted proxies exempt), and eviction of the connection quiet longest when
the table is full.  Real TCP sockets on 127.0.0.0/8; timers on a ManualClock."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from sipconf.bridge.clock import ManualClock
from sipconf.bridge.transport import Limits, SipServer
from sipconf.commands.up import UpOptions, start_services

from .conftest import options, served_callee
from .test_transport import GUARD, read_message


async def connect(server: SipServer, source: str = "127.0.0.1"):
    return await asyncio.open_connection(*server.tcp_address, local_addr=(source, 0))


async def answered(server: SipServer, reader, writer, call_id: str) -> None:
    writer.write(options(call_id, f"z9hG4bK{call_id}", transport="TCP"))
    await writer.drain()
    assert (await read_message(reader)).call_id == call_id


async def closed(reader) -> bool:
    return await asyncio.wait_for(reader.read(), GUARD) == b""


async def admitted(server: SipServer, count: int) -> None:
    while len(server.connections) < count:  # connection_made may run after the client's connect
        await asyncio.sleep(0)


def test_a_connection_quiet_for_the_idle_timeout_after_its_last_message_is_closed() -> None:
    async def main() -> None:
        clock = ManualClock()
        limits = Limits(tcp_first_message_timeout=10, tcp_idle_timeout=30)
        async with served_callee(clock=clock, limits=limits) as (server, _callee):
            reader, writer = await connect(server)
            await answered(server, reader, writer, "q1")  # t=0
            (conn,) = server.connections
            clock.advance(25)
            await answered(server, reader, writer, "q2")  # t=25: quiet again from here
            clock.advance(29)  # t=54: 29 s after the last message
            assert conn.open
            clock.advance(1)  # t=55
            assert await closed(reader)
            writer.close()

    asyncio.run(main())


def test_one_address_gets_at_most_its_share_and_a_trusted_proxy_more() -> None:
    async def main() -> None:
        limits = Limits(max_tcp_connections=10, max_tcp_connections_per_source=2)
        async with served_callee(limits=limits) as (server, _callee):
            server.trusted_proxies = server.trusted_proxies.parse(["127.0.0.3/32"])
            first = [await connect(server) for _ in range(2)]
            await admitted(server, 2)
            refused_reader, refused_writer = await connect(server)
            assert await closed(refused_reader)
            other = await connect(server, "127.0.0.2")
            proxy = [await connect(server, "127.0.0.3") for _ in range(4)]
            await admitted(server, 7)
            for n, (reader, writer) in enumerate([*first, other, *proxy]):
                await answered(server, reader, writer, f"s{n}")
            for _, writer in [*first, other, *proxy, (refused_reader, refused_writer)]:
                writer.close()

    asyncio.run(main())


def test_a_full_table_evicts_the_connection_quiet_longest() -> None:
    async def main() -> None:
        clock = ManualClock()
        limits = Limits(max_tcp_connections=3, max_tcp_connections_per_source=3)
        async with served_callee(clock=clock, limits=limits) as (server, _callee):
            silent = await connect(server)  # t=0, never speaks
            await admitted(server, 1)
            clock.advance(1)
            early = await connect(server, "127.0.0.2")
            await answered(server, *early, "e1")  # t=1
            clock.advance(1)
            late = await connect(server, "127.0.0.3")
            await answered(server, *late, "l1")  # t=2
            clock.advance(1)
            newcomer = await connect(server, "127.0.0.4")
            assert await closed(silent[0])  # quiet since t=0
            await answered(server, *newcomer, "n1")
            await answered(server, *early, "e2")  # t=3: now `late` is the quietest
            clock.advance(1)
            another = await connect(server, "127.0.0.5")
            assert await closed(late[0])
            await answered(server, *another, "a1")
            assert server.evicted == 2 and len(server.connections) == 3
            for _, writer in (silent, early, late, newcomer, another):
                writer.close()

    asyncio.run(main())


def test_256_idle_connections_no_longer_lock_every_new_client_out() -> None:
    """With the default limits: four addresses open 64 connections each (their cap), each
    sends one OPTIONS and sits idle; a fifth address still gets served, by evicting the
    connection quiet longest, and a 65th connection from a capped address is refused."""
    async def main() -> None:
        clock = ManualClock()
        async with served_callee(clock=clock) as (server, _callee):
            idle = []
            for source in ("127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4"):
                for n in range(64):
                    reader, writer = await connect(server, source)
                    await answered(server, reader, writer, f"idle-{source}-{n}")
                    idle.append((reader, writer))
                    clock.advance(0.01)
            assert len(server.connections) == 256
            capped = await connect(server, "127.0.1.4")
            assert await closed(capped[0])
            fresh = await connect(server, "127.0.1.5")
            await answered(server, *fresh, "fresh")
            assert await closed(idle[0][0])  # the first of 127.0.1.1: quiet longest
            assert server.evicted == 1 and len(server.connections) == 256
            for _, writer in [*idle, capped, fresh]:
                writer.close()

    asyncio.run(main())


def test_sipconf_up_takes_trusted_proxies_and_refuses_a_bad_one(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sipconf", "up", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0",
                           "--state", str(tmp_path / "s.db"), "--trusted-proxy", "127.0.0.2",
                           "--trusted-proxy", "10.0.0.0/33"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("--trusted-proxy '10.0.0.0/33': expected an IP address or a CIDR block,"
                                   " e.g. 127.0.0.2 or 10.0.0.0/8")

    async def main():
        services = await start_services(UpOptions(http=("127.0.0.1", 0), sip=("127.0.0.1", 0), state=tmp_path / "t.db",
                                                  mode="explicit", trusted_proxies=("127.0.0.2", "10.0.0.0/8")))
        try:
            assert str(services.bridge.trusted_proxies) == "127.0.0.2/32, 10.0.0.0/8"
            assert "10.1.2.3" in services.bridge.sip.trusted_proxies
        finally:
            await services.stop()

    asyncio.run(main())
