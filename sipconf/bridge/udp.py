"""The bridge's UDP sockets (SIP; each call's RTP too): read in batches, with how long each waited.

asyncio's datagram transport reads one datagram per readiness callback and cannot tell how
long it sat in the socket's receive queue, which is where load piles up first once the bridge
is saturated (the event loop's lag only shows once the loop itself is late). This endpoint
reads up to `BATCH` datagrams per callback with `recvmsg` and the kernel's receive timestamp
(Linux `SO_TIMESTAMPNS`), and hands each to `on_datagram(data, addr, queued)`, `queued` being
the seconds from its arrival to the moment it is handled. Admission control sheds new calls on
that age (`sipconf.bridge.admission`). Where the timestamp is not available, `queued` is 0.

The receive buffer is raised to `RECEIVE_BUFFER` (the kernel caps it at net.core.rmem_max):
a burst then waits, and is seen waiting, instead of being dropped unseen.

Sends go straight to the socket; in the rare case the kernel has no room (EAGAIN) they wait
in a queue flushed when the socket is writable. Socket errors a datagram socket reports
(ICMP port unreachable, a refused address) are logged at DEBUG, as asyncio's transport does;
anything else closes the endpoint, and `is_closing()` then says so (readiness checks read it).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import struct
import sys
import time
from typing import Callable

__all__ = ["BATCH", "RECEIVE_BUFFER", "TIMESTAMP_SPACE", "BoundEndpoint", "UdpEndpoint", "bound_socket", "timestamp_of", "unwatch"]

log = logging.getLogger("sipconf.bridge.udp")

BATCH = 64  # datagrams read per readiness callback: the loop's other work still gets its turn
RECEIVE_BUFFER = 4 * 1024 * 1024
MAX_DATAGRAM = 65535
# Linux: SO_TIMESTAMPNS (SCM_TIMESTAMPNS), a struct timespec of the arrival on CLOCK_REALTIME.
# Python's socket module does not name it; 35 is its value on Linux.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
_TIMESPEC = struct.Struct("@qq")
# `recvmsg` room for that timestamp (0: the platform has none to give).
TIMESTAMP_SPACE = socket.CMSG_SPACE(_TIMESPEC.size) if SO_TIMESTAMPNS is not None else 0

OnDatagram = Callable[[bytes, tuple, float], None]


def bound_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to (host, port), its receive buffer raised to
    RECEIVE_BUFFER and the kernel's receive timestamps asked for."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            pass  # the default buffer still works, it only overflows sooner
        if SO_TIMESTAMPNS is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                pass
        sock.bind((host, port))
        return sock
    except BaseException:
        sock.close()
        raise


def timestamp_of(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The kernel's arrival time (CLOCK_REALTIME seconds) in a `recvmsg`'s ancillary data."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(value)
            return seconds + nanoseconds * 1e-9
    return None


def unwatch(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """The loop stops watching `sock`, which is closed."""
    try:
        loop.remove_reader(sock.fileno())
        loop.remove_writer(sock.fileno())
    except (ValueError, RuntimeError):  # the loop is closed already
        pass
    sock.close()


class BoundEndpoint:
    """What the SIP transport asks of its UDP endpoint's bound socket, whoever reads it
    (`UdpEndpoint` here, or `sipconf.bridge.front_endpoint.FrontEndpoint`)."""

    _sock: socket.socket
    _address: tuple[str, int] | None = None
    _closing: bool = False

    @property
    def family(self) -> int:
        return self._sock.family

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) bound: read from the socket once (every response's Contact and Via
        ask for it)."""
        if self._address is None:
            self._address = self._sock.getsockname()[:2]
        return self._address

    def get_extra_info(self, name: str, default=None):
        if name == "sockname":
            return self._sock.getsockname()
        if name == "socket":
            return self._sock
        return default

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self.abort()

    def abort(self) -> None:
        """Stop reading and sending, and close the socket (once)."""
        if self._closing:
            return
        self._closing = True
        self._release()

    def _release(self) -> None:
        raise NotImplementedError


class UdpEndpoint(BoundEndpoint):
    """`UdpEndpoint.open(loop, host, port, on_datagram)`; `sendto(data, addr)`; `close()`.

    Built on a bound socket of the caller's with `stamped=False`, it is one call's RTP socket
    (`sipconf.bridge.media`): nobody asks how long RTP waited, so no timestamps are read."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, on_datagram: OnDatagram,
                 wall: Callable[[], float] = time.time, stamped: bool = True) -> None:
        self._loop = loop
        self._sock = sock
        self._on_datagram = on_datagram
        self._wall = wall  # the clock of the kernel's timestamps
        self._pending: collections.deque[tuple[bytes, tuple]] = collections.deque()
        self._closing = False
        self._address: tuple[str, int] | None = None
        self._stamped = False
        if stamped and SO_TIMESTAMPNS is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                self._stamped = True
            except OSError:
                pass
        self._ancillary = TIMESTAMP_SPACE if self._stamped else 0
        loop.add_reader(sock.fileno(), self._read_ready)

    @classmethod
    def open(cls, loop: asyncio.AbstractEventLoop, host: str, port: int, on_datagram: OnDatagram,
             wall: Callable[[], float] = time.time) -> UdpEndpoint:
        sock = bound_socket(host, port)
        try:
            return cls(loop, sock, on_datagram, wall)
        except BaseException:
            sock.close()
            raise

    # -- receiving ----------------------------------------------------------------------------

    def _read_ready(self) -> None:
        sock = self._sock
        for _ in range(BATCH):
            if self._closing:
                return
            try:
                data, ancillary, _flags, addr = sock.recvmsg(MAX_DATAGRAM, self._ancillary)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error for an earlier send: the socket goes on
                log.debug("UDP error: %s", exc)
                continue
            except Exception as exc:
                self._fatal(exc)
                return
            arrival = timestamp_of(ancillary) if ancillary else None
            self._on_datagram(data, addr, 0.0 if arrival is None else max(0.0, self._wall() - arrival))

    # -- sending ------------------------------------------------------------------------------

    def sendto(self, data: bytes, addr: tuple) -> None:
        if self._closing:
            return
        if not self._pending:
            try:
                self._sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                self._loop.add_writer(self._sock.fileno(), self._write_ready)
            except OSError as exc:
                log.debug("UDP error: %s", exc)
                return
            except Exception as exc:
                self._fatal(exc)
                return
        self._pending.append((data, addr))

    def _write_ready(self) -> None:
        while self._pending and not self._closing:
            data, addr = self._pending[0]
            try:
                self._sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("UDP error: %s", exc)
            except Exception as exc:
                self._fatal(exc)
                return
            self._pending.popleft()
        self._loop.remove_writer(self._sock.fileno())

    # -- closing ------------------------------------------------------------------------------

    def _fatal(self, exc: BaseException) -> None:
        log.error("UDP listener stopped: %s: %s", type(exc).__name__, exc)
        self.abort()

    def _release(self) -> None:
        self._pending.clear()
        unwatch(self._loop, self._sock)
