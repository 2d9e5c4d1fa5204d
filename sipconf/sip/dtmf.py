"""DTMF digits <-> RFC 4733 events, LiveKit's outbound digit schedule, and a receiver.

docs/livekit.md#dtmf: ``dtmf``: ``0-9 * # a b c d`` (lower-case only) -> RFC 4733 event 250 ms +
250 ms gap; ``w`` -> 0.5 s pause; other characters (upper-case letters included) -> a silent
250+250 ms slot.  As in LiveKit's media-sdk, each digit is one event whose end packet is sent
three times (RFC 4733 2.5.1.4 recommends the repetition for reliability).
"""

from __future__ import annotations

from dataclasses import dataclass

from sipconf.sip.rtp import RtpPacket, TelephoneEvent

__all__ = [
    "DtmfReceiver",
    "PlannedEvent",
    "digit_to_event",
    "event_to_digit",
    "schedule",
]

# RFC 4733 section 3.2, table 3: events 0-9, * = 10, # = 11, A-D = 12-15.  LiveKit uses lower case.
_DIGITS = "0123456789*#abcd"
SAMPLE_RATE = 8000
PACKET_INTERVAL = 0.020
TONE = 0.250
GAP = 0.250
PAUSE = 0.500
END_REPEATS = 3
DEFAULT_VOLUME = 10


def digit_to_event(digit: str) -> int | None:
    """``"5" -> 5``, ``"*" -> 10``, ``"a" -> 12``; ``"A"`` and anything else -> None (silent)."""
    index = _DIGITS.find(digit) if len(digit) == 1 else -1
    return index if index >= 0 else None


def event_to_digit(event: int) -> str | None:
    """``12 -> "a"``; events outside 0-15 (16 is flash) have no digit."""
    return _DIGITS[event] if 0 <= event < len(_DIGITS) else None


@dataclass(frozen=True)
class PlannedEvent:
    """One telephone-event packet to send ``at`` seconds after the schedule starts."""

    at: float
    timestamp: int  # RTP timestamp offset of the event start, in samples
    marker: bool
    payload: TelephoneEvent


def schedule(digits: str) -> list[PlannedEvent]:
    """Every telephone-event packet for ``digits``, in send order.

    During a tone a packet goes out every 20 ms with a growing duration (RFC 4733 2.5.1.2);
    the final packet has the E bit and is repeated three times with the same timestamp.
    """
    plan: list[PlannedEvent] = []
    t = 0.0
    for ch in digits:
        if ch == "w":
            t += PAUSE
            continue
        event = digit_to_event(ch)
        if event is not None:
            ts = round(t * SAMPLE_RATE)
            steps = int(round(TONE / PACKET_INTERVAL))  # 12 full 20 ms packets, then the end
            for k in range(steps):
                duration = round((k + 1) * PACKET_INTERVAL * SAMPLE_RATE)
                plan.append(
                    PlannedEvent(
                        at=round(t + k * PACKET_INTERVAL, 6),
                        timestamp=ts,
                        marker=k == 0,
                        payload=TelephoneEvent(event, False, DEFAULT_VOLUME, duration),
                    )
                )
            end = TelephoneEvent(event, True, DEFAULT_VOLUME, round(TONE * SAMPLE_RATE))
            for _ in range(END_REPEATS):
                plan.append(PlannedEvent(at=round(t + TONE, 6), timestamp=ts, marker=False, payload=end))
        t += TONE + GAP
    return plan


def schedule_length(digits: str) -> float:
    """Seconds the schedule for ``digits`` occupies (pauses and silent slots included)."""
    return sum(PAUSE if ch == "w" else TONE + GAP for ch in digits)


class DtmfReceiver:
    """Turns incoming telephone-event packets into digits, once per event.

    An event is identified by (SSRC, RTP timestamp): all its packets, including the three
    end packets, share the timestamp (RFC 4733 2.5.1.1), so only the first one counts.
    """

    def __init__(self, payload_type: int) -> None:
        self.payload_type = payload_type
        self._last: tuple[int, int] | None = None

    def feed(self, packet: RtpPacket) -> str | None:
        """Return the digit this packet starts, or None (other payload, repeat, unknown event)."""
        if packet.payload_type != self.payload_type:
            return None
        try:
            event = TelephoneEvent.parse(packet.payload)
        except ValueError:
            return None
        key = (packet.ssrc, packet.timestamp)
        if key == self._last:
            return None
        self._last = key
        return event_to_digit(event.event)
