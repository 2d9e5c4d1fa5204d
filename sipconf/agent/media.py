"""The agent's RTP: one UDP socket that keeps every packet it receives, RFC 4733 digits sent
as a real phone paces them, and the digits read back out of what arrived.
"""

from __future__ import annotations

import asyncio
import random

from sipconf.sip.dtmf import SAMPLE_RATE, DtmfReceiver, digit_to_event
from sipconf.sip.rtp import RtpPacket, TelephoneEvent
from sipconf.sip.sdp import DEFAULT_EVENT_PT, build_offer
from sipconf.agent.transport import Address, Tap, UdpTransport

__all__ = ["Media", "decode_digits", "dtmf_packets"]

PACKET_MS = 20  # RFC 4733 2.5.1.2: an update every packetisation interval
END_REPEATS = 3  # RFC 4733 2.5.1.4: the end packet is sent three times
VOLUME = 10


def dtmf_packets(digits: str, duration_ms: int = 100, gap_ms: int = 50, payload_type: int = DEFAULT_EVENT_PT,
                 ssrc: int | None = None, sequence: int | None = None,
                 timestamp: int | None = None) -> list[tuple[float, bytes]]:
    """RFC 4733 telephone-events for `digits`, each with the seconds to wait before sending it:
    one packet per 20 ms with a growing duration (the first marked), then the end packet
    three times; the next digit starts `gap_ms` later. Characters that are no digit are skipped."""
    ssrc = random.randrange(1 << 32) if ssrc is None else ssrc
    sequence = random.randrange(1 << 16) if sequence is None else sequence
    timestamp = random.randrange(1 << 31) if timestamp is None else timestamp
    steps = max(1, duration_ms // PACKET_MS)
    out: list[tuple[float, bytes]] = []
    pause = 0.0
    for digit in digits.lower():
        event = digit_to_event(digit)
        if event is None:
            continue
        for step in range(steps):
            update = TelephoneEvent(event, False, VOLUME, (step + 1) * PACKET_MS * SAMPLE_RATE // 1000)
            out.append((pause, bytes(RtpPacket(payload_type, sequence, timestamp, ssrc, bytes(update), marker=step == 0))))
            sequence = (sequence + 1) & 0xFFFF
            pause = PACKET_MS / 1000
        end = TelephoneEvent(event, True, VOLUME, steps * PACKET_MS * SAMPLE_RATE // 1000)
        for _ in range(END_REPEATS):
            out.append((pause, bytes(RtpPacket(payload_type, sequence, timestamp, ssrc, bytes(end)))))
            sequence = (sequence + 1) & 0xFFFF
            pause = 0.0
        timestamp = (timestamp + (duration_ms + gap_ms) * SAMPLE_RATE // 1000) & 0xFFFFFFFF
        pause = gap_ms / 1000
    return out


def decode_digits(packets: list[RtpPacket], payload_type: int = DEFAULT_EVENT_PT) -> str:
    """The RFC 4733 digits in `packets`, one per event, as the far end hears them."""
    receiver = DtmfReceiver(payload_type)
    return "".join(digit for packet in packets if (digit := receiver.feed(packet)) is not None)


class Media:
    """One RTP socket. Audio is never sent: the agent only plays digits."""

    def __init__(self, socket: UdpTransport) -> None:
        self.socket = socket
        self.packets: list[RtpPacket] = []
        self._arrived = asyncio.Event()
        socket.deliver = self._received

    @classmethod
    async def open(cls, host: str, tap: Tap | None = None, allow_external: bool = False) -> Media:
        return cls(await UdpTransport.bind(host, 0, tap, allow_external))

    async def close(self) -> None:
        await self.socket.close()

    @property
    def address(self) -> Address:
        return self.socket.local

    def offer(self, event_payload_type: int = DEFAULT_EVENT_PT) -> bytes:
        """An SDP offer (PCMU, PCMA, telephone-event) pointing at this socket."""
        host, port = self.address
        return bytes(build_offer(host, port, random.randrange(1 << 30), event_payload_type))

    def _received(self, data: bytes, addr: Address) -> None:
        try:
            self.packets.append(RtpPacket.parse(data))
        except ValueError:
            return
        self._arrived.set()

    def digits(self, payload_type: int = DEFAULT_EVENT_PT) -> str:
        return decode_digits(self.packets, payload_type)

    async def wait_digits(self, count: int, timeout: float, payload_type: int = DEFAULT_EVENT_PT) -> str:
        """The digits received once there are `count` of them, or whatever came in `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(digits := self.digits(payload_type)) < count:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - loop.time()))
            except (asyncio.TimeoutError, TimeoutError):
                return self.digits(payload_type)
        return digits

    async def send_digits(self, digits: str, to: Address, duration_ms: int = 100, gap_ms: int = 50,
                          payload_type: int = DEFAULT_EVENT_PT) -> None:
        for pause, packet in dtmf_packets(digits, duration_ms, gap_ms, payload_type):
            if pause:
                await asyncio.sleep(pause)
            self.socket.send(packet, to)
