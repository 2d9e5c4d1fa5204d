"""The SIP UDP endpoint (sipconf.bridge.udp): batched reads, each datagram with the time it
waited, and sends, on real sockets bound to 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import socket
import time

from sipconf.bridge.udp import BATCH, UdpEndpoint

AHEAD = 100.0  # the injected wall clock runs this far ahead of the kernel's timestamps


def test_datagrams_left_waiting_are_all_read_in_order_with_their_wait():
    async def main():
        loop = asyncio.get_running_loop()
        got: list[tuple[bytes, float]] = []
        endpoint = UdpEndpoint.open(loop, "127.0.0.1", 0, lambda data, addr, queued: got.append((data, queued)),
                                    wall=lambda: time.time() + AHEAD)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            count = BATCH * 3 + 5  # more than one read's batch: the rest is read on the next turns
            for n in range(count):
                sender.sendto(b"%d" % n, endpoint.get_extra_info("sockname"))
            while len(got) < count:
                await asyncio.sleep(0.01)
            assert [data for data, _ in got] == [b"%d" % n for n in range(count)]
            # Each waited at least as long as the injected clock is ahead of the kernel's.
            assert all(queued >= AHEAD for _, queued in got)
        finally:
            sender.close()
            endpoint.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_sends_reach_the_peer_and_a_closed_endpoint_sends_nothing():
    async def main():
        loop = asyncio.get_running_loop()
        endpoint = UdpEndpoint.open(loop, "127.0.0.1", 0, lambda *_: None)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        try:
            endpoint.sendto(b"hello", peer.getsockname())
            assert await loop.sock_recv(peer, 100) == b"hello"
            assert endpoint.family == socket.AF_INET and not endpoint.is_closing()
            endpoint.abort()
            assert endpoint.is_closing()
            endpoint.sendto(b"late", peer.getsockname())
            await asyncio.sleep(0.05)
            try:
                data = peer.recv(100)
            except BlockingIOError:
                data = None
            assert data is None
        finally:
            peer.close()
            endpoint.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_an_icmp_error_from_an_earlier_send_does_not_stop_the_reads():
    async def main():
        loop = asyncio.get_running_loop()
        got: list[bytes] = []
        endpoint = UdpEndpoint.open(loop, "127.0.0.1", 0, lambda data, addr, queued: got.append(data))
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        nobody = closed.getsockname()
        closed.close()
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            endpoint.sendto(b"to nobody", nobody)  # port unreachable comes back as a socket error
            await asyncio.sleep(0.05)
            sender.sendto(b"still read", endpoint.get_extra_info("sockname"))
            while not got:
                await asyncio.sleep(0.01)
            assert got == [b"still read"] and not endpoint.is_closing()
        finally:
            sender.close()
            endpoint.close()

    asyncio.run(asyncio.wait_for(main(), 30))
