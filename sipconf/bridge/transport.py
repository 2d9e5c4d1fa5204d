"""UDP and TCP SIP transports on 127.0.0.1 (RFC 3261 18).

The asyncio protocols only frame and dispatch: each complete message is parsed and handed
to one synchronous ``handler(message, source)``; ``source.send`` answers on the same
transport, and ``source.reply_path()`` names the socket or connection and the address the
answer goes to (what a finished transaction keeps to answer a retransmission).  RFC 3261 18.2.1 / RFC 3581 4: a request's top Via is stamped with ``received``
(when its sent-by host is not the packet's source address, when it asked for ``rport``, or
when it carried a ``received`` of its own) and ``rport=<source port>`` (when it asked).
RFC 3261 18.2.2: responses to a TCP request go back on that connection; UDP responses go
where the top Via says (``maddr``, else ``received`` with ``rport`` or the sent-by port,
else the sent-by host and port; 5060 when no port is given), not blindly to the packet's
source.  No task is ever created here, so none can leak.  UDP datagrams are read by
``sipconf.bridge.udp`` (in batches, each with how long it waited), and an ``early`` hook may
take a raw datagram before it is parsed (the bridge refuses stale INVITEs there).

One message never costs more than itself: whatever handling it raises is caught at the
datagram / stream-read boundary, counted in ``failed`` and logged (rate-limited), and the
listener goes on.  Hostile input: messages above ``max_message_size`` or ``max_headers``
are rejected; malformed requests get ``400 Bad Request`` (``505 Version Not Supported`` for
a SIP version other than 2.0) when a Via and a CSeq can be salvaged (From, To and Call-ID
are copied when present: a request without Call-ID gets a 400 without one, as a real stack
answers it), otherwise they are dropped; the warnings about them are rate-limited
(``sipconf.bridge.log_lines``) and quote a packet's text only escaped.

TCP: at most ``max_tcp_connections`` at once, and ``max_tcp_connections_per_source`` from
one address (trusted proxies excepted); when the table is full, a new connection evicts
the connection that has been quiet longest (one with a message half-received is never
evicted).  A connection that sends no complete message within
``tcp_first_message_timeout`` is closed, so is one quiet for ``tcp_idle_timeout`` after its
last message, and one that leaves a message incomplete for ``tcp_message_timeout`` (a
per-message read deadline, from the message's first byte: trickling bytes does not extend
it); a TCP stream whose framing is lost (bad or repeated Content-Length, oversize) is closed.

Destinations (``sipconf.bridge.addresses``): unless built with ``allow_external``, nothing
is sent to an address that is not a loopback IP literal (127.0.0.0/8, ::1; ``localhost``
means 127.0.0.1), and never to a bad port.  Host names are never resolved here, so a name
taken from a message (a Via ``maddr``, a Contact) can neither leak a DNS query nor a packet
off the machine: such sends are dropped, counted in ``unsendable`` and logged (rate-limited).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from sipconf.bridge.addresses import AddressError, TrustedProxies, destination, loopback_destination
from sipconf.bridge.clock import Clock, LoopClock, TimerHandle
from sipconf.bridge.log_lines import Throttle, printable
from sipconf.bridge.front_endpoint import FrontEndpoint
from sipconf.bridge.udp import BoundEndpoint, OnDatagram, UdpEndpoint
from sipconf.sip.headers import Via, split_commas
from sipconf.sip.message import (Message, Request, Response, UnsupportedVersion, canonical_name, check_mandatory,
                                 parse)

__all__ = ["Handler", "Limits", "SipServer", "Source", "bad_request_for", "loopback_destination",
           "response_address", "stamp_via"]

log = logging.getLogger("sipconf.bridge.transport")


@dataclass(frozen=True)
class Limits:
    max_message_size: int = 64 * 1024
    max_headers: int = 128
    max_tcp_connections: int = 256
    max_tcp_connections_per_source: int = 64  # below the global cap: one address cannot take every slot
    tcp_first_message_timeout: float = 10.0
    tcp_message_timeout: float = 10.0
    tcp_idle_timeout: float = 120.0  # quiet time after the last message before the connection is closed


def _always_open() -> bool:
    return True


@dataclass
class Source:
    """Where a message came from, and how to answer on the same transport."""

    transport: str  # "UDP" or "TCP"
    addr: tuple[str, int]
    send: Callable[[Message | bytes], None] = field(repr=False)
    reply_to: tuple[str, int] | None = None  # UDP: where responses go (RFC 3261 18.2.2)
    is_open: Callable[[], bool] = field(default=_always_open, repr=False)  # TCP: the connection still is
    # The socket or connection itself, whose `resend(data, to)` needs nothing of this Source.
    channel: _UdpProtocol | _TcpProtocol | None = field(default=None, repr=False)
    queued: float = 0.0  # UDP: seconds the datagram waited in the kernel and before its turn here

    @property
    def reliable(self) -> bool:
        return self.transport == "TCP"

    def reply_path(self) -> tuple[_UdpProtocol | _TcpProtocol, tuple[str, int]] | None:
        """Where responses to this source's request go, as (channel, address): what a
        finished transaction keeps to answer a retransmission, without this Source."""
        if self.channel is None:
            return None
        return self.channel, (self.reply_to or self.addr)


Handler = Callable[[Request | Response, Source], None]

DEFAULT_PORT = 5060  # RFC 3261 18.1.1 / 19.1.2: sip: over UDP and TCP


def stamp_via(headers: list[tuple[str, str]], addr: tuple[str, int], top: Via | None = None) -> Via | None:
    """RFC 3261 18.2.1 and RFC 3581 4, in place: add ``received=<source IP>`` to the top Via
    when its sent-by host differs from the packet's source, it carries a bare ``rport``, or
    it brought a ``received`` of its own (only the server that saw the packet may say where
    it came from), and fill that ``rport`` with the source port.  Returns the (stamped) top
    Via, or None when there is no parseable one.  ``top``, when given, is that Via already
    parsed (a message's ``top_via``)."""
    for index, (name, value) in enumerate(headers):
        if canonical_name(name) == "via":
            break
    else:
        return None
    first, rest = value, ""
    if "," in value:
        parts = split_commas(value)
        if not parts:
            return None
        first, rest = parts[0], ", ".join(parts[1:])
    try:
        via = top if top is not None else Via.parse(first)
    except ValueError:
        return None
    ip, port = addr
    wants_rport = via.param("rport") == ""
    if not wants_rport and via.param("received") is None and via.host.strip("[]").lower() == ip.lower():
        return via  # nothing to add: the common case, and no re-rendering
    params: list[tuple[str, str | None]] = []
    for key, val in via.params:
        low = key.lower()
        if low == "received":
            continue
        params.append((key, str(port)) if low == "rport" and wants_rport else (key, val))
    params.append(("received", ip))
    via = Via(via.transport, via.host, via.port, params)
    headers[index] = (name, f"{via}, {rest}" if rest else str(via))
    return via


def response_address(via: Via) -> tuple[str, int]:
    """RFC 3261 18.2.2 (unreliable transport) with RFC 3581 4: where a response goes.

    Not checked here: the address is whatever the Via says (a port of 0 stands for one that
    is no port number), and the sender refuses what it may not send to."""
    port = via.port if via.port is not None else DEFAULT_PORT
    maddr = via.param("maddr")
    if maddr:
        return maddr, port
    received = via.param("received")
    if received:
        rport = via.param("rport")
        if rport:
            port = int(rport) if rport.isascii() and rport.isdigit() and len(rport) <= 5 else 0
        return received, port
    return via.host, port


_SALVAGE = ("via", "from", "to", "call-id", "cseq")
_NEEDED = ("via", "cseq")  # without these a response cannot be addressed or matched


def bad_request_for(data: bytes, error: str, status: int = 400, reason: str = "Bad Request") -> Response | None:
    """A 400 (or ``status``) for a message we could not parse, if it looks like a request
    with a Via and a CSeq to answer with; the other headers RFC 3261 8.2.6.2 copies (From,
    To, Call-ID) are copied when present.  None means drop it."""
    text = data.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0].lstrip("\r\n")
    lines = head.split("\r\n")
    start = lines[0]
    if not start or start.startswith("SIP/") or start.split(" ", 1)[0] == "ACK":
        return None  # never answer responses or ACKs (RFC 3261 17.2.1, 8.2)
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = canonical_name(name.strip())
        if key in _SALVAGE:
            found.setdefault(key, []).append(value.strip())
    if any(key not in found for key in _NEEDED):
        return None
    headers: list[tuple[str, str]] = []
    for key, long in zip(_SALVAGE, ("Via", "From", "To", "Call-ID", "CSeq")):
        values = found.get(key, []) if key == "via" else found.get(key, [])[:1]
        headers += [(long, v) for v in values]
    warning = re.sub(r'[\x00-\x1f"\\]', "'", error)[:200]
    headers.append(("Warning", f'399 sipconf "{warning}"'))  # RFC 3261 20.43
    return Response(headers=headers, status=status, reason=reason)


class _Dispatcher:
    """Parse one frame, answer 400 or drop on error, else call the handler; whatever one
    frame raises is caught here and costs only that frame."""

    def __init__(self, handler: Handler, limits: Limits, throttle: Throttle) -> None:
        self.handler = handler
        self.limits = limits
        self.throttle = throttle
        self.dropped = 0
        self.rejected = 0
        self.failed = 0

    def dispatch(self, data: bytes, source: Source) -> None:
        try:
            self._dispatch(data, source)
        except Exception as exc:  # a bug or a case nobody foresaw: the listener must go on
            self.failed += 1
            self.throttle.warning("failed", "dropped %s message from %s:%d: handling it failed: %s",
                                  source.transport, printable(source.addr[0]), source.addr[1],
                                  printable(f"{type(exc).__name__}: {exc}"), exc_info=True)

    def _dispatch(self, data: bytes, source: Source) -> None:
        try:
            message = parse(data, max_headers=self.limits.max_headers)
            check_mandatory(message)
        except ValueError as exc:
            self._malformed(data, exc, source)
            return
        if isinstance(message, Request):
            self._stamp(message.headers, source, message.top_via)  # parsed by check_mandatory
        self.handler(message, source)

    def _malformed(self, data: bytes, error: ValueError, source: Source) -> None:
        if isinstance(error, UnsupportedVersion):
            response = bad_request_for(data, str(error), 505, "Version Not Supported")  # RFC 3261 21.5.6
        else:
            response = bad_request_for(data, str(error))
        if response is None:
            self.dropped += 1
            self.throttle.warning("malformed", "dropped malformed %s message from %s:%d: %s",
                                  source.transport, *source.addr, printable(str(error)))
            return
        self.rejected += 1
        self.throttle.warning("malformed", "%d to malformed %s message from %s:%d: %s", response.status,
                              source.transport, *source.addr, printable(str(error)))
        self._stamp(response.headers, source)  # the 400 carries the request's Vias
        source.send(response)

    @staticmethod
    def _stamp(headers: list[tuple[str, str]], source: Source, top: Via | None = None) -> None:
        via = stamp_via(headers, source.addr, top)
        if via is not None and not source.reliable:
            source.reply_to = response_address(via)  # checked when something is sent there


def _encode(message: Message | bytes) -> bytes:
    return message if isinstance(message, bytes) else bytes(message)


class UdpSource(Source):
    """A UDP ``Source`` on ``channel`` (anything with ``sendto(message, addr)``): requests go to
    ``addr``; responses to ``reply_to`` once the dispatcher set it. ``send`` is a method: a
    closure over the Source would make every datagram received a reference cycle, freed only
    by the cyclic collector."""

    def __init__(self, channel, addr: tuple[str, int]) -> None:
        self.transport = "UDP"
        self.addr = addr
        self.reply_to = None
        self.is_open = _always_open
        self.channel = channel
        self.queued = 0.0

    def send(self, message: Message | bytes) -> None:  # type: ignore[override]
        to = self.reply_to if isinstance(message, Response) and self.reply_to is not None else self.addr
        self.channel.sendto(message, to)


class _UdpProtocol:
    """Frames nothing (a datagram is a message): checks, then dispatches each datagram read by
    the listener's `UdpEndpoint`, and is the one way out for UDP sends."""

    def __init__(self, server: SipServer) -> None:
        self.server = server
        self.transport: UdpEndpoint | None = None
        self.family: int | None = None

    def connection_made(self, transport: UdpEndpoint) -> None:
        self.transport = transport
        self.family = transport.family

    def sendto(self, message: Message | bytes, addr: tuple[str, int]) -> None:
        """The one place UDP data leaves: every destination is checked first, since an
        address asyncio cannot use (a port above 65535, a NUL byte) closes the socket."""
        try:
            target = destination(addr[0], addr[1], allow_external=self.server.allow_external, family=self.family)
        except AddressError as err:
            self.server._unsendable(addr, err)
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(_encode(message), target)

    def datagram_received(self, data: bytes, addr: tuple[str, int], queued: float = 0.0) -> None:
        try:
            if not data.strip(b"\r\n"):
                return  # RFC 5626 keep-alive
            limits = self.server.limits
            if len(data) > limits.max_message_size:
                self.server.throttle.warning("oversize", "dropped %d-byte datagram from %s:%d (limit %d)",
                                             len(data), addr[0], addr[1], limits.max_message_size)
                return
            source = self.source((addr[0], addr[1]))
            source.queued = queued
            early = self.server.early
            if early is not None and early(data, source):
                return
            self.server._dispatcher.dispatch(data, source)
        except Exception as exc:  # dispatch catches its own; this is the last line of defence
            self.server._dispatcher.failed += 1
            self.server.throttle.warning("failed", "dropped datagram from %s:%d: %s", printable(str(addr[0])),
                                         addr[1], printable(f"{type(exc).__name__}: {exc}"), exc_info=True)

    def source(self, addr: tuple[str, int]) -> Source:
        return UdpSource(self, addr)

    def resend(self, data: bytes, to: tuple[str, int] | None) -> None:
        if to is not None:
            self.sendto(data, to)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


class _TcpProtocol(asyncio.Protocol):
    """Frames a TCP byte stream into SIP messages by Content-Length (RFC 3261 18.3)."""

    def __init__(self, server: SipServer, outbound: bool = False) -> None:
        self.server = server
        self.outbound = outbound  # we opened it: not a peer's, exempt from the per-source cap
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.addr: tuple[str, int] = ("", 0)
        self.trusted = False
        self.source: Source | None = None
        self._idle: TimerHandle | None = None
        self._deadline: TimerHandle | None = None
        self._deadline_message = -1  # the value of `messages` when the deadline was armed
        self.messages = 0
        self.last_activity = server.clock.now()

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("", 0)
        self.addr = (peer[0], peer[1])
        self.trusted = self.addr[0] in self.server.trusted_proxies
        self.last_activity = self.server.clock.now()
        self.source = Source("TCP", self.addr, self.send, is_open=lambda: self.open, channel=self)
        refusal = self.server._admit(self)
        if refusal is not None:
            self.server.throttle.warning("tcp-refused", "refused TCP connection from %s:%d: %s", *self.addr, refusal)
            transport.close()
            return
        self._arm_idle(self.server.limits.tcp_first_message_timeout)

    def _arm_idle(self, delay: float) -> None:
        self._idle = self.server.clock.call_later(delay, self._idle_check)

    def _idle_check(self) -> None:
        """Close a connection that never sent a message, or that has been quiet for
        ``tcp_idle_timeout``; otherwise look again when that would be the case."""
        self._idle = None
        if not self.open:
            return
        limits = self.server.limits
        if self.messages == 0:
            self.server.throttle.warning("tcp-idle", "closed TCP connection from %s:%d: nothing received in %.0f s",
                                         *self.addr, limits.tcp_first_message_timeout)
            self.transport.close()
            return
        quiet = self.server.clock.now() - self.last_activity
        if quiet >= limits.tcp_idle_timeout:
            self.server.throttle.warning("tcp-idle", "closed TCP connection from %s:%d: idle for %.0f s",
                                         *self.addr, quiet)
            self.transport.close()
            return
        self._arm_idle(limits.tcp_idle_timeout - quiet)

    def send(self, message: Message | bytes) -> None:
        if self.open:
            self.last_activity = self.server.clock.now()
            self.transport.write(_encode(message))

    def resend(self, data: bytes, to: tuple[str, int] | None) -> None:
        self.send(data)  # on the connection the request came on (RFC 3261 18.2.2)

    def data_received(self, data: bytes) -> None:
        try:
            self.last_activity = self.server.clock.now()
            self.buffer += data
            self._frame()
        except Exception as exc:  # framing itself failed: the stream cannot be trusted any more
            self.server._dispatcher.failed += 1
            self.server.throttle.warning("failed", "closed TCP connection from %s:%d: reading it failed: %s",
                                         *self.addr, printable(f"{type(exc).__name__}: {exc}"), exc_info=True)
            self.buffer.clear()
            if self.transport is not None:
                self.transport.close()
        finally:
            self._watch_partial()

    def _watch_partial(self) -> None:
        """Arm the read deadline when a message is incomplete; re-arm it for each new message."""
        partial = bool(self.buffer) and self.open
        if partial and self._deadline is not None and self._deadline_message == self.messages:
            return  # the same message is still arriving: its deadline stands
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if partial:
            self._deadline_message = self.messages
            self._deadline = self.server.clock.call_later(self.server.limits.tcp_message_timeout, self._read_timeout)

    def _read_timeout(self) -> None:
        self._deadline = None
        if self.buffer and self.open:
            self.server.throttle.warning("tcp-slow", "closed TCP connection from %s:%d: message incomplete after %.0f s"
                                         " (%d bytes)", *self.addr, self.server.limits.tcp_message_timeout,
                                         len(self.buffer))
            self.buffer.clear()
            self.transport.close()

    def _frame(self) -> None:
        limit = self.server.limits.max_message_size
        while self.open:
            # RFC 3261 7.5 / RFC 5626 3.5.1: CRLFs between messages are keep-alives.
            while self.buffer[:2] == b"\r\n":
                del self.buffer[:2]
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > limit:
                    self._lose_framing(f"header section larger than {limit} bytes")
                return
            lengths = _CONTENT_LENGTH.findall(self.buffer, 0, end + 2)
            length = 0
            if len(lengths) > 1:
                self._lose_framing("more than one Content-Length header")
                return
            if lengths:
                text = lengths[0].strip()
                if not (text.isdigit() and len(text) <= 10):
                    self._lose_framing(f"invalid Content-Length: {printable(text)!r}")
                    return
                length = int(text)
            total = end + 4 + length
            if total > limit:
                self._lose_framing(f"message of {total} bytes exceeds {limit}")
                return
            if len(self.buffer) < total:
                return
            frame = bytes(self.buffer[:total])
            del self.buffer[:total]
            self.messages += 1
            if self.source is not None:
                self.server._dispatcher.dispatch(frame, self.source)

    def _lose_framing(self, reason: str) -> None:
        # The stream cannot be re-synchronised: answer 400 if possible, then close.
        self.server.throttle.warning("malformed", "closing TCP connection from %s:%d: %s", *self.addr, reason)
        response = bad_request_for(bytes(self.buffer[: self.server.limits.max_message_size]), reason)
        if response is not None:
            self.send(response)
        self.buffer.clear()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.server._release(self)
        self.transport = None


_SAME_PORT_ATTEMPTS = 20


class SipServer:
    """UDP and TCP listeners sharing one handler.  An async context manager:

    ``async with SipServer(handler) as server: server.udp_address, server.tcp_address``.
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        udp_port: int = 0,
        tcp_port: int = 0,
        limits: Limits | None = None,
        clock: Clock | None = None,
        udp: bool = True,
        tcp: bool = True,
        allow_external: bool = False,
        trusted_proxies: TrustedProxies | Iterable[str] = (),
        early: Callable[[bytes, Source], bool] | None = None,
        udp_front: bool = False,
        shedding: Callable[[], bool] = lambda: False,
        on_refused: Callable[[int], None] = lambda count: None,
        shards: int = 1,
        udp_endpoint: Callable[[OnDatagram], BoundEndpoint] | None = None,
    ) -> None:
        self.host = host
        # With call workers: the front splits datagrams over `shards` processes (this one is
        # shard 0); a worker's UDP endpoint is its link to the front (`udp_endpoint`).
        self.shards = shards
        self.udp_endpoint = udp_endpoint
        # UDP datagrams read and sent by a second process (`sipconf.bridge.front`), which also
        # refuses new INVITEs while `shedding()` says so and reports them to `on_refused`.
        self.udp_front = udp_front
        self.shedding = shedding
        self.on_refused = on_refused
        self.early = early  # sees each datagram before it is parsed; True = it was dealt with
        self.allow_external = allow_external
        self.trusted_proxies = (trusted_proxies if isinstance(trusted_proxies, TrustedProxies)
                                else TrustedProxies.parse(trusted_proxies))
        self.limits = limits or Limits()
        self.clock: Clock = clock or LoopClock()
        self.throttle = Throttle(log, self.clock)
        self._dispatcher = _Dispatcher(handler, self.limits, self.throttle)
        self._ports = (udp_port if udp else None, tcp_port if tcp else None)
        self._udp: _UdpProtocol | None = None
        self._udp_transport: UdpEndpoint | FrontEndpoint | None = None
        self._tcp_server: asyncio.base_events.Server | None = None
        self.connections: set[_TcpProtocol] = set()
        self._per_source: dict[str, int] = {}  # peer IP -> its connections (peers' only, never 0)
        self._outbound: dict[tuple[str, int], _TcpProtocol] = {}
        self.unsendable = 0  # messages not sent: their destination was refused
        self.evicted = 0  # idle TCP connections closed to make room for a new one

    @property
    def dropped(self) -> int:
        return self._dispatcher.dropped

    @property
    def rejected(self) -> int:
        return self._dispatcher.rejected

    @property
    def failed(self) -> int:
        return self._dispatcher.failed

    async def start(self) -> None:
        udp_port, tcp_port = self._ports
        if udp_port == 0 and tcp_port == 0:
            # SIP listens on one port number for both transports (RFC 3261 18), so clients
            # and scenarios can switch transport without another address: pick a free UDP
            # port and take the same number for TCP, retrying when TCP has it taken.
            for _ in range(_SAME_PORT_ATTEMPTS):
                await self._bind(0, None)
                port = self.udp_address[1]
                try:
                    await self._bind(None, port)
                    return
                except OSError:
                    self._udp_transport.close()
                    self._udp_transport = self._udp = None
            raise OSError(f"no port free for both UDP and TCP on {self.host} after {_SAME_PORT_ATTEMPTS} attempts")
        await self._bind(udp_port, tcp_port)

    async def _bind(self, udp_port: int | None, tcp_port: int | None) -> None:
        loop = asyncio.get_running_loop()
        if udp_port is not None:
            protocol = _UdpProtocol(self)
            transport = None
            if self.udp_endpoint is not None:
                transport = self.udp_endpoint(protocol.datagram_received)
            elif self.udp_front:
                try:
                    transport = FrontEndpoint.open(loop, self.host, udp_port, protocol.datagram_received,
                                                   shedding=self.shedding, on_refused=self.on_refused,
                                                   allow_external=self.allow_external, shards=self.shards)
                except OSError as err:  # no AF_UNIX SOCK_SEQPACKET here, or no process to start
                    if isinstance(err, PermissionError) or err.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                        raise
                    log.warning("UDP front not started (%s): UDP is read in this process", err)
            if transport is None:
                transport = UdpEndpoint.open(loop, self.host, udp_port, protocol.datagram_received)
            protocol.connection_made(transport)
            self._udp_transport, self._udp = transport, protocol
        if tcp_port is not None:
            self._tcp_server = await loop.create_server(lambda: _TcpProtocol(self), self.host, tcp_port)

    async def close(self) -> None:
        if self._udp_transport is not None:
            self._udp_transport.close()
        if self._tcp_server is not None:
            self._tcp_server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self._tcp_server is not None:
            await self._tcp_server.wait_closed()
        await asyncio.sleep(0)  # let connection_lost callbacks run

    async def __aenter__(self) -> SipServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def udp_address(self) -> tuple[str, int]:
        if self._udp_transport is None:
            raise RuntimeError("UDP listener is not running")
        return self._udp_transport.address

    @property
    def tcp_address(self) -> tuple[str, int]:
        if self._tcp_server is None:
            raise RuntimeError("TCP listener is not running")
        host, port = self._tcp_server.sockets[0].getsockname()[:2]
        return host, port

    def serving(self) -> dict[str, bool]:
        """Whether each listener still serves. A UDP endpoint that was closed, by `close()` or by
        a fatal socket error (asyncio then closes the transport), no longer does."""
        udp_port, tcp_port = self._ports
        listeners = {}
        if udp_port is not None:
            listeners["udp"] = self._udp_transport is not None and not self._udp_transport.is_closing()
        if tcp_port is not None:
            listeners["tcp"] = self._tcp_server is not None and self._tcp_server.is_serving()
        return listeners

    def udp_source(self, addr: tuple[str, int]) -> Source:
        """A ``Source`` for sending requests to ``addr`` from our UDP port."""
        if self._udp is None:
            raise RuntimeError("UDP listener is not running")
        return self._udp.source(addr)

    async def tcp_source(self, addr: tuple[str, int]) -> Source:
        """A ``Source`` over a TCP connection to ``addr`` (reused while open); responses
        arriving on it reach the handler like any other message."""
        conn = self._outbound.get(addr)
        if conn is None or not conn.open:
            try:
                host, port = destination(addr[0], addr[1], allow_external=self.allow_external)
            except AddressError as err:
                self.unsendable += 1
                raise ConnectionError(f"not connecting to {printable(str(addr[0]))}:{addr[1]}: {err}") from None
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(lambda: _TcpProtocol(self, outbound=True), host, port)
            conn.messages = 1  # we opened it: the first-message rule is for peers that never speak
            self._outbound[addr] = conn
        if conn.source is None or conn not in self.connections:
            raise ConnectionError(f"TCP connection to {addr[0]}:{addr[1]} was refused locally")
        return conn.source

    def _unsendable(self, addr: tuple[str, int], error: AddressError) -> None:
        self.unsendable += 1
        self.throttle.warning("unsendable", "not sent to %s:%s: %s", printable(str(addr[0])),
                              printable(str(addr[1])), error)

    # -- the TCP connection table ---------------------------------------------------------

    def _admit(self, conn: _TcpProtocol) -> str | None:
        """Take ``conn`` into the table, or say why not (None: admitted)."""
        limits = self.limits
        per_source = not conn.outbound and not conn.trusted
        ip = conn.addr[0]
        if per_source and self._per_source.get(ip, 0) >= limits.max_tcp_connections_per_source:
            return f"{limits.max_tcp_connections_per_source} connections open from this address"
        if len(self.connections) >= limits.max_tcp_connections:
            victim = self._quietest()
            if victim is None:
                return f"{limits.max_tcp_connections} connections open, none idle"
            self.evicted += 1
            self.throttle.warning("tcp-evicted", "closed TCP connection from %s:%d: idle for %.0f s, and the"
                                  " connection table is full", *victim.addr, self.clock.now() - victim.last_activity)
            self._release(victim)
            if victim.transport is not None:
                victim.transport.close()
        self.connections.add(conn)
        if not conn.outbound:
            self._per_source[ip] = self._per_source.get(ip, 0) + 1
        return None

    def _quietest(self) -> _TcpProtocol | None:
        """The connection to give up for a new one: a peer's, with no message half-received,
        quiet the longest; a trusted proxy's only when no other is idle."""
        idle = [c for c in self.connections if not c.outbound and not c.buffer and c.open]
        if not idle:
            return None
        return min(idle, key=lambda c: (c.trusted, c.last_activity))

    def _release(self, conn: _TcpProtocol) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            if not conn.outbound:
                left = self._per_source.get(conn.addr[0], 0) - 1
                if left > 0:
                    self._per_source[conn.addr[0]] = left
                else:
                    self._per_source.pop(conn.addr[0], None)
        for addr, c in list(self._outbound.items()):
            if c is conn:
                del self._outbound[addr]
