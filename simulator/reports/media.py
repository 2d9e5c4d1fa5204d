"""The media of a call as the ladder shows it: RTP streams between lanes, and DTMF digits.

Digits come from RFC 4733 telephone-events (one digit per event timestamp, however many
packets repeat it; the payload type is the one the SDP names, else 101) and from SIP INFO
(`Signal=`). Digits the caller enters at a PIN prompt are a secret: they are masked, up to
and including the `#` that ends the entry (all of them when no `#` came).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simulator.reports.lanes import Lanes
from simulator.result import Packet

EVENT_DIGITS = "0123456789*#ABCD"  # RFC 4733 3.2: events 0-15
DEFAULT_EVENT_PT = 101
MASK = "\u2022"  # the bullet a password field shows
_EVENT_PT = re.compile(rb"^a=rtpmap:(\d+) telephone-event/", re.M | re.I)
_INFO_SIGNAL = re.compile(rb"^(Signal[ \t]*=[ \t]*)(\S+)", re.M | re.I)


@dataclass
class Stream:
    """RTP from one lane to another: first and last packet times, packet count."""

    src: int
    dst: int
    first: float
    last: float
    packets: int = 0
    payload_types: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Digit:
    time: float
    src: int
    dst: int
    shown: str  # the digit, or MASK
    method: str  # "rfc4733" or "info"
    packet: int  # its packet's position in the call's packets (an INFO's text is masked too)

    @property
    def masked(self) -> bool:
        return self.shown == MASK


def is_rtp(p: Packet) -> bool:
    return not p.is_sip and len(p.data) >= 12 and p.data[0] >> 6 == 2


def event_payload_types(packets: list[Packet]) -> set[int]:
    found = {int(m.group(1)) for p in packets if p.is_sip for m in _EVENT_PT.finditer(p.data)}
    return found or {DEFAULT_EVENT_PT}


def streams(packets: list[Packet], lanes: Lanes) -> list[Stream]:
    out: dict[tuple[int, int], Stream] = {}
    for p in packets:
        if not is_rtp(p):
            continue
        key = (lanes.of(p.src), lanes.of(p.dst))
        s = out.setdefault(key, Stream(key[0], key[1], p.time, p.time))
        s.last = p.time
        s.packets += 1
        s.payload_types.add(p.data[1] & 0x7F)
    return list(out.values())


def digits(packets: list[Packet], lanes: Lanes, pin_from: int | None) -> list[Digit]:
    """Every digit sent, in order; those lane `pin_from` (the caller at a PIN prompt) sends
    until its first `#` are masked."""
    event_pts = event_payload_types(packets)
    out: list[Digit] = []
    seen: set[tuple[int, int, int]] = set()  # (src lane, ssrc, timestamp): one event
    pin_open = pin_from is not None
    for i, p in enumerate(packets):
        sent = _digit_of(p, event_pts, seen, lanes)
        if sent is None:
            continue
        src, dst, digit, method = sent
        masked = pin_open and src == pin_from
        if masked and digit == "#":
            pin_open = False
        out.append(Digit(p.time, src, dst, MASK if masked else digit, method, i))
    return out


def _digit_of(p: Packet, event_pts: set[int], seen: set, lanes: Lanes) -> tuple[int, int, str, str] | None:
    if p.is_sip:
        if not p.data.startswith(b"INFO "):
            return None
        found = _INFO_SIGNAL.search(p.data.split(b"\r\n\r\n", 1)[-1])
        if found is None:
            return None
        return lanes.of(p.src), lanes.of(p.dst), found.group(2).decode("ascii", "replace")[:1], "info"
    if not is_rtp(p) or len(p.data) < 16 or (p.data[1] & 0x7F) not in event_pts:
        return None
    event = p.data[12]
    key = (lanes.of(p.src), int.from_bytes(p.data[8:12], "big"), int.from_bytes(p.data[4:8], "big"))
    if key in seen or event >= len(EVENT_DIGITS):
        return None
    seen.add(key)
    return key[0], lanes.of(p.dst), EVENT_DIGITS[event], "rfc4733"


def mask_info_signal(data: bytes) -> bytes:
    """A SIP INFO's message text with its `Signal=` digit masked."""
    return _INFO_SIGNAL.sub(lambda m: m.group(1) + MASK.encode(), data)
