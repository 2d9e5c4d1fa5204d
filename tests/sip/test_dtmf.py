"""DTMF: LiveKit's digit alphabet and timing (docs/livekit.md#dtmf), and once-per-event
receipt."""

from __future__ import annotations

from sipconf.sip.dtmf import DtmfReceiver, digit_to_event, event_to_digit, schedule, schedule_length
from sipconf.sip.rtp import RtpPacket


def test_digit_alphabet_is_lower_case() -> None:
    assert [digit_to_event(d) for d in "0129*#abcd"] == [0, 1, 2, 9, 10, 11, 12, 13, 14, 15]
    assert digit_to_event("A") is None
    assert digit_to_event("x") is None
    assert "".join(event_to_digit(e) or "?" for e in range(17)) == "0123456789*#abcd?"


def test_one_event_per_digit_with_three_end_packets() -> None:
    plan = schedule("1")
    assert len(plan) == 12 + 3
    assert plan[0].marker and plan[0].at == 0.0 and plan[0].payload.duration == 160
    assert {p.timestamp for p in plan} == {0}
    ends = [p for p in plan if p.payload.end]
    assert len(ends) == 3 and {p.at for p in ends} == {0.25} and {p.payload.duration for p in ends} == {2000}


def test_pause_and_silent_slots() -> None:
    plan = schedule("1wA2")
    starts = [(p.at, p.timestamp, p.payload.event) for p in plan if p.marker]
    # '1' at 0, 'w' pauses 0.5 s, 'A' is a silent 0.5 s slot, '2' starts at 1.5 s.
    assert starts == [(0.0, 0, 1), (1.5, 12000, 2)]
    assert schedule_length("1wA2") == 2.0


def _event_packet(plan_item, ssrc=1) -> RtpPacket:
    return RtpPacket(101, 0, plan_item.timestamp, ssrc, bytes(plan_item.payload), plan_item.marker)


def test_receiver_yields_each_digit_once_per_timestamp() -> None:
    receiver = DtmfReceiver(101)
    got = [receiver.feed(_event_packet(item)) for item in schedule("11#")]
    assert [d for d in got if d] == ["1", "1", "#"]


def test_receiver_ignores_audio_and_garbage() -> None:
    receiver = DtmfReceiver(101)
    assert receiver.feed(RtpPacket(0, 1, 1, 1, b"\xff" * 160)) is None
    assert receiver.feed(RtpPacket(101, 1, 1, 1, b"\x01")) is None
