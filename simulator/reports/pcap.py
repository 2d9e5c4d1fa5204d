"""A pcap per call, written with scapy's `wrpcap` from the packets a driver captured.

Rootless by construction (call-flow anchors, idea 5): the drivers send with ordinary
sockets and record what went over the wire; we rebuild IP/UDP frames around the payloads.
"""

from __future__ import annotations

from pathlib import Path

from simulator.result import Packet

LINKTYPE_IPV4 = 228  # each record starts with the IPv4 header (scapy maps IP to it)


def write_pcap(path: Path, packets: list[Packet], start: float = 0.0) -> Path:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.utils import wrpcap

    frames = []
    for p in packets:
        l4 = (TCP(sport=p.src[1], dport=p.dst[1], flags="PA") if p.transport == "tcp"
              else UDP(sport=p.src[1], dport=p.dst[1]))
        frame = IP(src=p.src[0], dst=p.dst[0]) / l4 / p.data
        frame.time = start + p.time
        frames.append(frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrpcap(str(path), frames, linktype=LINKTYPE_IPV4)  # IP frames without a link layer
    return path
