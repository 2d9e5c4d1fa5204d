"""Packets of made-up calls for the report tests: SIP messages as sent, RTP built by hand."""

from __future__ import annotations

from simulator.result import Packet

CALLER, BRIDGE = ("127.0.0.31", 5062), ("127.0.0.1", 5060)
CALLER_RTP, BRIDGE_RTP = ("127.0.0.31", 40000), ("127.0.0.1", 41000)
SDP = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.31\r\ns=-\r\nc=IN IP4 127.0.0.31\r\nt=0 0\r\n"
       b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")


def sip(text: str, body: bytes = b"") -> bytes:
    head = text.strip().replace("\n", "\r\n").encode()
    return head + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def invite(extra: str = "") -> bytes:
    return sip("INVITE sip:+14155550100@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.31:5062;branch=z9hG4bKa\n"
               "From: <sip:+14085550011@127.0.0.31>;tag=a\nTo: <sip:+14155550100@127.0.0.1>\nCall-ID: c1\n"
               f"CSeq: 1 INVITE\n{extra}Content-Type: application/sdp", SDP)


OK = sip("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.31:5062;branch=z9hG4bKa\nFrom: <sip:+14085550011@127.0.0.31>;tag=a\n"
         "To: <sip:+14155550100@127.0.0.1>;tag=b\nCall-ID: c1\nCSeq: 1 INVITE")


def rtp(pt: int, seq: int, timestamp: int, payload: bytes) -> bytes:
    return bytes([0x80, pt]) + seq.to_bytes(2, "big") + timestamp.to_bytes(4, "big") + (7).to_bytes(4, "big") + payload


def events(digits: str, start: float, src=CALLER_RTP, dst=BRIDGE_RTP) -> list[Packet]:
    """Each digit as RFC 4733 sends it: three packets with one timestamp, the last with E set."""
    out = []
    for n, digit in enumerate(digits):
        event = "0123456789*#".index(digit)
        for k in range(3):
            end = 0x80 if k == 2 else 0
            out.append(Packet(start + n * 0.2 + k * 0.02, src, dst, rtp(101, n * 3 + k, int(start * 8000) + n * 1600,
                                                                         bytes([event, end | 10, 0, 160]))))
    return out


def info(digit: str, t: float) -> Packet:
    body = f"Signal={digit}\r\nDuration=100\r\n".encode()
    return Packet(t, CALLER, BRIDGE, sip("INFO sip:+14155550100@127.0.0.1:5060 SIP/2.0\nCall-ID: c1\nCSeq: 3 INFO\n"
                                         "Content-Type: application/dtmf-relay", body))


def call(*middle: Packet, extra: str = "") -> list[Packet]:
    audio = [Packet(0.05 + i * 0.02, BRIDGE_RTP, CALLER_RTP, rtp(0, i, i * 160, b"\xff" * 160)) for i in range(5)]
    return [Packet(0.0, CALLER, BRIDGE, invite(extra)), Packet(0.01, BRIDGE, CALLER, OK), *audio, *middle]
