"""RTP packets (RFC 3550 5.1) and RFC 4733 telephone-event payloads, as pure dataclasses."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["RtpPacket", "TelephoneEvent"]

_HEADER = struct.Struct("!BBHII")


@dataclass
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: list[int] = field(default_factory=list)
    extension: tuple[int, bytes] | None = None  # (profile, data) per RFC 3550 5.3.1
    padding: int = 0  # number of padding octets, including the count octet

    @staticmethod
    def parse(data: bytes) -> RtpPacket:
        if len(data) < 12:
            raise ValueError(f"RTP packet too short ({len(data)} bytes)")
        b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
        if b0 >> 6 != 2:
            raise ValueError(f"unsupported RTP version {b0 >> 6}")
        pos = 12
        cc = b0 & 0x0F
        if len(data) < pos + 4 * cc:
            raise ValueError("RTP packet truncated in CSRC list")
        csrc = list(struct.unpack_from(f"!{cc}I", data, pos))
        pos += 4 * cc
        extension = None
        if b0 & 0x10:
            if len(data) < pos + 4:
                raise ValueError("RTP packet truncated in extension header")
            profile, words = struct.unpack_from("!HH", data, pos)
            pos += 4
            if len(data) < pos + 4 * words:
                raise ValueError("RTP packet truncated in extension data")
            extension = (profile, bytes(data[pos : pos + 4 * words]))
            pos += 4 * words
        end = len(data)
        padding = 0
        if b0 & 0x20:
            padding = data[-1]
            if padding == 0 or pos + padding > end:
                raise ValueError("RTP padding length is invalid")
            end -= padding
        return RtpPacket(
            payload_type=b1 & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[pos:end]),
            marker=bool(b1 & 0x80),
            csrc=csrc,
            extension=extension,
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        b0 = 0x80 | (0x20 if self.padding else 0) | (0x10 if self.extension else 0) | len(self.csrc)
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        out = bytearray(_HEADER.pack(b0, b1, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc))
        for c in self.csrc:
            out += struct.pack("!I", c)
        if self.extension is not None:
            profile, ext = self.extension
            if len(ext) % 4:
                raise ValueError("RTP extension length must be a multiple of 4")
            out += struct.pack("!HH", profile, len(ext) // 4) + ext
        out += self.payload
        if self.padding:
            out += bytes(self.padding - 1) + bytes([self.padding])
        return bytes(out)


@dataclass
class TelephoneEvent:
    """RFC 4733 2.3 payload: event(8) | E(1) R(1) volume(6) | duration(16)."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    @staticmethod
    def parse(data: bytes) -> TelephoneEvent:
        # RFC 4733 2.5.1.3: several events may be stacked; the first one is the current one.
        if len(data) < 4:
            raise ValueError(f"telephone-event payload too short ({len(data)} bytes)")
        event, flags, duration = struct.unpack_from("!BBH", data)
        return TelephoneEvent(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        if not 0 <= self.volume <= 63:
            raise ValueError(f"telephone-event volume out of range: {self.volume}")
        flags = (0x80 if self.end else 0) | self.volume
        return struct.pack("!BBH", self.event & 0xFF, flags, min(self.duration, 0xFFFF))
