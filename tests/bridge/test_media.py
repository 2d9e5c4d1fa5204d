"""RTP sessions over real 127.0.0.1 sockets, paced by a manual clock."""

from __future__ import annotations

import asyncio

from sipconf.bridge.clock import ManualClock
from sipconf.bridge.media import SILENCE, RtpSession
from sipconf.sip.rtp import RtpPacket

GUARD = 5.0


class Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: asyncio.Queue[RtpPacket] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.packets.put_nowait(RtpPacket.parse(data))


def test_silence_flows_every_tick_and_dtmf_reaches_the_peer() -> None:
    async def main() -> None:
        clock = ManualClock()
        done = asyncio.Event()
        received: list[str] = []

        def on_digit(digit: str) -> None:
            received.append(digit)
            if len(received) == 3:
                done.set()

        sender, receiver = RtpSession(clock), RtpSession(clock, on_digit=on_digit)
        await sender.open()
        await receiver.open()
        sender.start(("127.0.0.1", receiver.port), 0, 101)
        receiver.start(("127.0.0.1", sender.port), 0, 101)
        clock.advance(0.020 * 3)
        assert sender.packets_sent == 3
        length = sender.send_dtmf("1wA#9")
        assert length == 2.5
        for _ in range(int(length / 0.010) + 5):
            clock.advance(0.010)
            await asyncio.sleep(0)  # let the loop deliver datagrams between ticks
        await asyncio.wait_for(done.wait(), GUARD)
        assert received == receiver.digits == ["1", "#", "9"]
        sender.close()
        receiver.close()

    asyncio.run(main())


def test_packets_are_pcmu_silence_with_consecutive_sequence_numbers() -> None:
    async def main() -> None:
        clock = ManualClock()
        loop = asyncio.get_running_loop()
        sink_transport, sink = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
        session = RtpSession(clock)
        await session.open()
        session.start(sink_transport.get_extra_info("sockname"), 0, None)
        clock.advance(0.020 * 2)
        first = await asyncio.wait_for(sink.packets.get(), GUARD)
        second = await asyncio.wait_for(sink.packets.get(), GUARD)
        assert first.payload == SILENCE[0] and first.payload_type == 0
        assert second.sequence == (first.sequence + 1) & 0xFFFF
        assert second.timestamp == (first.timestamp + 160) & 0xFFFFFFFF
        assert session.send_dtmf("123") == 0.0  # no telephone-event negotiated: nothing sent
        session.close()
        sink_transport.close()

    asyncio.run(main())


def test_echo_mode_returns_the_peer_audio() -> None:
    async def main() -> None:
        clock = ManualClock()
        loop = asyncio.get_running_loop()
        peer_transport, peer = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
        session = RtpSession(clock, echo=True)
        port = await session.open()
        session.start(peer_transport.get_extra_info("sockname"), 8, None)
        peer_transport.sendto(bytes(RtpPacket(8, 1, 1, 7, b"voice")), ("127.0.0.1", port))
        async def first_packet() -> None:
            while session.packets_received == 0:
                await asyncio.sleep(0)

        await asyncio.wait_for(first_packet(), GUARD)
        clock.advance(0.020)
        clock.advance(0.020)
        first = await asyncio.wait_for(peer.packets.get(), GUARD)
        second = await asyncio.wait_for(peer.packets.get(), GUARD)
        assert (first.payload, second.payload) == (b"voice", SILENCE[8])
        session.close()
        peer_transport.close()

    asyncio.run(main())
