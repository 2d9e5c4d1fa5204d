"""The SIP ladder of one call as text (for failures), and the one-line description of a
packet the text and the SVG ladder (`svg_ladder`) share.

Built from the captured packets (the same ones written to the pcap), so the ladder shows
what went over the wire, not what a driver meant to send.
"""

from __future__ import annotations

from simulator.result import Packet


def first_line(data: bytes) -> str:
    line = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    if line.startswith("SIP/2.0 "):
        return line[len("SIP/2.0 "):]
    return line.split(" sip:", 1)[0].split(" tel:", 1)[0] if " " in line else line


def describe(p: Packet) -> str:
    if p.is_sip:
        return first_line(p.data)
    if len(p.data) >= 12 and p.data[0] >> 6 == 2:
        pt = p.data[1] & 0x7F
        return f"RTP pt={pt}" + (f" event={p.data[12]}" if len(p.data) >= 16 else "")
    return f"{len(p.data)} bytes"


def text_ladder(packets: list[Packet], limit: int = 40) -> list[str]:
    """`  0.012 127.0.0.11:5062 -> 127.0.0.1:5060  INVITE` lines, SIP only (RTP is summarised)."""
    out = []
    rtp = 0
    for p in packets:
        if not p.is_sip:
            rtp += 1
            continue
        out.append(f"{p.time:7.3f} {p.src[0]}:{p.src[1]} -> {p.dst[0]}:{p.dst[1]}  {describe(p)}")
    if rtp:
        out.append(f"        (+ {rtp} RTP packets)")
    return out[:limit] + ([f"        ... {len(out) - limit} more"] if len(out) > limit else [])
