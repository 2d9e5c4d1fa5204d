"""RTP and RFC 4733 payloads: table-driven round trips and exact parse errors."""

from __future__ import annotations

import pytest

from sipconf.sip.rtp import RtpPacket, TelephoneEvent

PACKETS = [
    RtpPacket(0, 1, 160, 0x11223344, b"\xff" * 160),
    RtpPacket(101, 65535, 2**32 - 1, 1, bytes(TelephoneEvent(5, True, 10, 2000)), marker=True),
    RtpPacket(8, 7, 8, 9, b"abc", csrc=[1, 2], extension=(0xBEDE, b"\x10\x01\x00\x00"), padding=4),
]


@pytest.mark.parametrize("packet", PACKETS)
def test_rtp_round_trip(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


def test_rtp_header_layout() -> None:
    data = bytes(RtpPacket(101, 0x0102, 0x03040506, 0x0708090A, b"", marker=True))
    assert data == bytes.fromhex("80e5010203040506" "0708090a")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x80\x00", "RTP packet too short (2 bytes)"),
        (b"\x40" + bytes(11), "unsupported RTP version 1"),
        (b"\x82" + bytes(11) + bytes(4), "RTP packet truncated in CSRC list"),
        (b"\x90" + bytes(11), "RTP packet truncated in extension header"),
        (b"\x90" + bytes(11) + b"\x00\x00\x00\x02", "RTP packet truncated in extension data"),
        (b"\xa0" + bytes(11) + b"\x00", "RTP padding length is invalid"),
    ],
)
def test_rtp_errors(data: bytes, error: str) -> None:
    with pytest.raises(ValueError) as info:
        RtpPacket.parse(data)
    assert str(info.value) == error


def test_telephone_event_layout_and_round_trip() -> None:
    event = TelephoneEvent(event=11, end=True, volume=10, duration=2000)
    assert bytes(event) == bytes([11, 0x8A, 0x07, 0xD0])
    assert TelephoneEvent.parse(bytes(event)) == event


def test_telephone_event_errors() -> None:
    with pytest.raises(ValueError) as info:
        TelephoneEvent.parse(b"\x01\x02")
    assert str(info.value) == "telephone-event payload too short (2 bytes)"
    with pytest.raises(ValueError) as info:
        bytes(TelephoneEvent(1, volume=64))
    assert str(info.value) == "telephone-event volume out of range: 64"
