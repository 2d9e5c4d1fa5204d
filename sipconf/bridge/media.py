"""One RTP port per call on 127.0.0.1: keep RTP flowing, send and receive RFC 4733 DTMF.

No mixing: every 20 ms we send one PCMU/PCMA frame of silence, or echo the last frame the
peer sent, so that real endpoints (SIPp, softphones) see a live stream.  One pacer per clock
ticks every session (one timer per 20 ms, not one per session: under load, per-session
timers made the event loop's timer heap the bridge's largest cost after the sockets).  Received
telephone-events become digits through ``DtmfReceiver``.  All pacing uses the injected
clock, so tests drive the 20 ms tick by advancing a ``ManualClock``.

The peer's SDP names where our RTP goes; that address is checked as any other the bridge
sends to (``sipconf.bridge.addresses``: an IP literal, a real port, on loopback unless
``allow_external``).  A refused one gets no media (one WARNING per call): the call goes on
and still receives.

The negotiated direction (RFC 3264 5.1) says whether we may send and whether the peer will:
on hold (our side `recvonly` or `inactive`) the pacer sends nothing but keeps the timestamp
moving (RFC 3550 5.1: it follows the sampling clock), and digits are not sent. An SDP whose
address is 0.0.0.0 (RFC 2543's way to hold) gets no RTP either.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import weakref
from typing import Callable

from sipconf.bridge.addresses import AddressError, destination
from sipconf.bridge.clock import Clock, TimerHandle
from sipconf.bridge.log_lines import printable
from sipconf.bridge.udp import UdpEndpoint
from sipconf.routing.ids import random_bytes
from sipconf.sip.dtmf import DtmfReceiver, schedule, schedule_length
from sipconf.sip.rtp import RtpPacket
from sipconf.sip.sdp import receives, sends

__all__ = ["RtpSession", "SILENCE"]

log = logging.getLogger("sipconf.bridge.media")

FRAME = 0.020
SAMPLES_PER_FRAME = 160
# G.711 silence: mu-law 0xFF, A-law 0xD5 (ITU-T G.711 tables, zero amplitude).
SILENCE = {0: b"\xff" * SAMPLES_PER_FRAME, 8: b"\xd5" * SAMPLES_PER_FRAME}


# A connection address of 0.0.0.0 (RFC 2543's hold, RFC 3264 8.4) asks for no media at all.
UNSPECIFIED = ("0.0.0.0", "::")

_HEADER = struct.Struct("!BBHII")  # RFC 3550 5.1, as RtpPacket writes it without CSRC/extension


class _Pacer:
    """Ticks every started session of one clock each 20 ms, in start order."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sessions: dict[RtpSession, None] = {}
        self._timer: TimerHandle | None = None

    def add(self, session: RtpSession) -> None:
        self.sessions[session] = None
        if self._timer is None:
            self._timer = self.clock.call_later(FRAME, self._tick)

    def remove(self, session: RtpSession) -> None:
        self.sessions.pop(session, None)
        if not self.sessions and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        self._timer = self.clock.call_later(FRAME, self._tick)
        for session in list(self.sessions):
            try:
                session._on_tick()
            except Exception:  # one broken session must not stop the others' media
                log.exception("RTP tick failed")
                self.remove(session)


_PACERS: weakref.WeakKeyDictionary[Clock, _Pacer] = weakref.WeakKeyDictionary()


def _pacer(clock: Clock) -> _Pacer:
    pacer = _PACERS.get(clock)
    if pacer is None:
        pacer = _PACERS[clock] = _Pacer(clock)
    return pacer


class RtpSession:
    """An RTP endpoint.  ``await open()`` binds it; ``start(remote, ...)`` begins the stream."""

    def __init__(
        self,
        clock: Clock,
        on_digit: Callable[[str], None] | None = None,
        echo: bool = False,
        host: str = "127.0.0.1",
        allow_external: bool = False,
    ) -> None:
        self.clock = clock
        self.on_digit = on_digit
        self.echo = echo
        self.host = host
        self.allow_external = allow_external
        # RFC 3550 5.1: random SSRC, initial sequence number and timestamp (one getrandom call).
        self.ssrc, self.sequence, self.timestamp = struct.unpack("!IHI", random_bytes(10))
        self.remote: tuple[str, int] | None = None
        self.payload_type = 0
        self.event_payload_type: int | None = None
        self.digits: list[str] = []
        self.packets_sent = 0
        self.packets_received = 0
        self.last_received: float | None = None
        self.sending = True  # our direction lets us send (sendrecv, sendonly)
        self.receiving = True  # the peer's direction lets it send (our sendrecv, recvonly)
        self.receiving_since: float | None = None  # when the peer was let send again after a hold
        self._receiver: DtmfReceiver | None = None
        self._echo_frame: bytes | None = None
        self._transport: UdpEndpoint | None = None
        self._port = 0
        self._pacer: _Pacer | None = None
        self._dtmf_timers: list[TimerHandle] = []
        self._dtmf_busy_until = 0.0

    async def open(self) -> int:
        """Bind the port. The socket is read through the loop's `add_reader` (`UdpEndpoint`):
        an asyncio datagram endpoint costs about twice as much to open and close, once a call
        (`python -m bench.rtp_socket`)."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self.host, 0))
            self._port = sock.getsockname()[1]
            self._transport = UdpEndpoint(loop, sock, self._datagram, stamped=False)
        except BaseException:
            sock.close()
            raise
        return self._port

    @property
    def port(self) -> int:
        if self._transport is None:
            raise RuntimeError("RTP session is not open")
        return self._port

    def start(self, remote: tuple[str, int], payload_type: int, event_payload_type: int | None) -> None:
        """Begin sending to ``remote`` (from the SDP) with the negotiated payload types."""
        if payload_type not in SILENCE:
            raise ValueError(f"unsupported audio payload type {payload_type}")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            if remote[0] in UNSPECIFIED:  # RFC 3264 8.4: send the peer neither RTP nor RTCP
                self.remote = None
            else:
                self.remote = destination(remote[0], remote[1], allow_external=self.allow_external, family=family)
        except AddressError as err:
            self.remote = None
            log.warning("RTP not sent to %s:%s: %s", printable(str(remote[0])), printable(str(remote[1])), err)
        self.payload_type = payload_type
        self.event_payload_type = event_payload_type
        self._receiver = DtmfReceiver(event_payload_type) if event_payload_type is not None else None
        if self._pacer is None:
            self._pacer = _pacer(self.clock)
            self._pacer.add(self)

    def set_direction(self, direction: str) -> None:
        """Our side's negotiated direction (`sendrecv`, `sendonly`, `recvonly`, `inactive`)."""
        receiving = receives(direction)
        if receiving and not self.receiving:
            self.receiving_since = self.clock.now()
        self.sending, self.receiving = sends(direction), receiving

    def _on_tick(self) -> None:
        self.timestamp = (self.timestamp + SAMPLES_PER_FRAME) & 0xFFFFFFFF
        if not self.sending:
            return
        if self._dtmf_busy_until and self.clock.now() < self._dtmf_busy_until:
            return  # RFC 4733 2.5.1.1: audio for the event's duration is replaced by events
        frame = self._echo_frame if self.echo and self._echo_frame else SILENCE[self.payload_type]
        self._echo_frame = None
        transport = self._transport
        if transport is None or self.remote is None or transport.is_closing():
            return
        # The bytes of RtpPacket(payload_type, sequence, timestamp, ssrc, frame), built directly.
        header = _HEADER.pack(0x80, self.payload_type & 0x7F, self.sequence, self.timestamp, self.ssrc)
        self.sequence = (self.sequence + 1) & 0xFFFF
        transport.sendto(header + frame, self.remote)
        self.packets_sent += 1

    def send_dtmf(self, digits: str) -> float:
        """Schedule ``digits`` as RFC 4733 events (LiveKit timing); return their length in s.

        Returns 0 and sends nothing when telephone-event was not negotiated
        (docs/livekit.md#dtmf), or while our direction does not let us send.
        """
        if self.event_payload_type is None or self.remote is None or not self.sending:
            return 0.0
        plan = schedule(digits)
        base_ts = self.timestamp
        start = self.clock.now()
        pt = self.event_payload_type
        for item in plan:

            def send(item=item) -> None:
                payload = bytes(item.payload)
                packet = RtpPacket(pt, self.sequence, (base_ts + item.timestamp) & 0xFFFFFFFF, self.ssrc, payload, item.marker)
                self._send(packet)

            if item.at <= 0:
                send()
            else:
                self._dtmf_timers.append(self.clock.call_later(item.at, send))
            # Silence audio while a tone plays (and its end packets go out).
            self._dtmf_busy_until = max(self._dtmf_busy_until, start + item.at + FRAME)
        return schedule_length(digits)

    def _send(self, packet: RtpPacket) -> None:
        if self._transport is None or self.remote is None or self._transport.is_closing():
            return
        packet.sequence = self.sequence
        self.sequence = (self.sequence + 1) & 0xFFFF
        self._transport.sendto(bytes(packet), self.remote)
        self.packets_sent += 1

    def _datagram(self, data: bytes, addr: tuple, _queued: float) -> None:
        try:
            self._received(data, (addr[0], addr[1]))
        except Exception:  # a datagram nobody foresaw costs only itself
            log.debug("RTP datagram from %s ignored", printable(str(addr)), exc_info=True)

    def _received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return  # not RTP (or RTCP on the same port): ignore
        if packet.payload_type >= 72 and packet.payload_type <= 76:
            return  # RTCP multiplexed on the RTP port (RFC 5761 4)
        self.packets_received += 1
        self.last_received = self.clock.now()
        if self._receiver is not None:
            digit = self._receiver.feed(packet)
            if digit is not None:
                self.digits.append(digit)
                if self.on_digit is not None:
                    self.on_digit(digit)
                return
            if packet.payload_type == self.event_payload_type:
                return
        if packet.payload_type == self.payload_type:
            self._echo_frame = packet.payload

    def close(self) -> None:
        # A closed session hears no digit: letting go of the call's callback ends the reference
        # cycle between them, so the call is freed when its last user lets go, not by a pass of
        # the cyclic collector.
        self.on_digit = None
        if self._pacer is not None:
            self._pacer.remove(self)
            self._pacer = None
        for timer in self._dtmf_timers:
            timer.cancel()
        self._dtmf_timers.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
