"""The packets of one call, for the ladder and the pcap: `Capture.add` is the tap the
scripted agent (`sipconf.agent`) reports every SIP message and RTP packet to, both ways."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from simulator.result import Packet


@dataclass
class Capture:
    """Every datagram (or TCP message) of one call, stamped relative to the call's start."""

    start: float = field(default_factory=time.monotonic)
    packets: list[Packet] = field(default_factory=list)

    def add(self, src: tuple[str, int], dst: tuple[str, int], data: bytes, transport: str = "udp") -> None:
        self.packets.append(Packet(time.monotonic() - self.start, src, dst, bytes(data), transport))
