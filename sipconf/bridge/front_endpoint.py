"""The bridge's end of its UDP front (`sipconf.bridge.front`): the SIP UDP endpoint when the
datagram work is done by a second process.

`FrontEndpoint.open(...)` binds the SIP socket, starts the front with it and one end of a
socket pair, and from then on looks to the bridge like `sipconf.bridge.udp.UdpEndpoint`:
`on_datagram(data, addr, queued)` for each datagram read (`queued` from its kernel arrival time,
so the time spent in the front counts), `sendto(data, addr)`, `address`, `is_closing()`.

Sends made while the loop runs one callback go to the front in one frame, at the end of it.
After each batch read, the bridge's admission control is asked whether it is overloaded
(`shedding()`); while it is, the front is told so every `SHED_REFRESH` seconds for `SHED_LEASE`
seconds ahead, and refuses new INVITEs itself; the refusals it reports reach `on_refused(n)`.
If the front dies, the endpoint starts another on the same socket (at most once per
`RESPAWN_INTERVAL`; otherwise it closes, and readiness says the UDP listener stopped).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import socket
import subprocess
import sys
import time
from typing import Callable

from sipconf.bridge import front_wire as wire
from sipconf.bridge.udp import BoundEndpoint, OnDatagram, bound_socket, unwatch

__all__ = ["FrontEndpoint", "LinkEndpoint", "SHED_LEASE", "SHED_REFRESH", "pair_of_links"]

log = logging.getLogger("sipconf.bridge.front")

SHED_LEASE = 0.3  # seconds the front refuses new INVITEs after the bridge last said so
SHED_REFRESH = 0.1  # the bridge says it again this often while overloaded
RESPAWN_INTERVAL = 1.0
# Small: a backlog the bridge has not read waits in the front, where a new INVITE can still be
# refused at once, not in the pair.
PAIR_BUFFER = 256 * 1024
FRAMES_PER_READ = 1  # a frame holds up to the front's BATCH datagrams: the loop's other work gets its turn


class LinkEndpoint(BoundEndpoint):
    """The SIP UDP endpoint of a bridge process whose datagrams come over a socket pair from the
    UDP front: the main bridge's (`FrontEndpoint`, which starts the front) or a call worker's
    (`sipconf.bridge.worker`, whose pair the main bridge hands it). `sock` is the SIP UDP
    socket itself, never read here: it tells the address and family."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, on_datagram: OnDatagram,
                 shedding: Callable[[], bool] = lambda: False, on_refused: Callable[[int], None] = lambda n: None,
                 wall: Callable[[], float] = time.time, pair: socket.socket | None = None,
                 direct: bool = False) -> None:
        # `direct`: send from the SIP socket here (every process holds it) rather than through
        # the front. With one bridge process the front's core has room and sending there saves
        # the bridge's; with call workers every core is busy, and a hop less is cheaper.
        self.direct = direct
        self._loop = loop
        self._sock = sock
        self._on_datagram = on_datagram
        self._shedding = shedding
        self._on_refused = on_refused
        self._wall = wall
        self._address: tuple[str, int] | None = None
        self._closing = False
        self._out: list[bytes] = []  # records to send, flushed at the end of the callback
        self._frames: collections.deque[bytes] = collections.deque()  # frames the pair had no room for
        self._told_until = 0.0  # loop time the front's current SHED lease runs out (0: not shedding)
        self._pair: socket.socket | None = None
        if pair is not None:
            self.relink(pair)

    def relink(self, pair: socket.socket) -> None:
        """From now on, the front is at the other end of `pair`."""
        self._drop_pair()
        pair.setblocking(False)
        self._pair = pair
        self._told_until = 0.0
        self._loop.add_reader(pair.fileno(), self._read_ready)

    @property
    def linked(self) -> bool:
        return self._pair is not None

    # -- receiving ----------------------------------------------------------------------------

    def _read_ready(self) -> None:
        pair = self._pair
        for _ in range(FRAMES_PER_READ):
            if self._closing or pair is not self._pair:
                return
            try:
                frame = pair.recv(wire.MAX_FRAME + 4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._front_gone(f"{type(exc).__name__}: {exc}")
                return
            if not frame:
                self._front_gone("it closed the pair")
                return
            kind, refused = wire.kind_of(frame)
            if refused:
                self._on_refused(refused)
            if kind != wire.DATAGRAMS:
                continue
            now = self._wall()
            for arrival, addr, data in wire.records(frame):
                self._on_datagram(data, addr, max(0.0, now - arrival))
        self._tell_shedding()

    def _tell_shedding(self) -> None:
        now = self._loop.time()
        if self._shedding():
            if now > self._told_until - (SHED_LEASE - SHED_REFRESH):
                self._told_until = now + SHED_LEASE
                self._send_frame(wire.frame(wire.SHED, int(SHED_LEASE * 1000)))
        elif self._told_until > now:
            self._told_until = 0.0
            self._send_frame(wire.frame(wire.SHED, 0))

    # -- sending ------------------------------------------------------------------------------

    def sendto(self, data: bytes, addr: tuple) -> None:
        if self._closing:
            return
        if self.direct and not self._out:
            try:
                self._sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                pass  # the socket's buffer is full: the front sends it once it can
            except OSError as exc:
                log.debug("UDP error: %s", exc)
                return
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(wire.record(0.0, addr[0], addr[1], data))

    def _flush(self) -> None:
        out, self._out = self._out, []
        parts = [wire.header(wire.SEND, 0)]
        size = len(parts[0])
        for item in out:
            if size + len(item) > wire.MAX_FRAME and len(parts) > 1:
                self._send_frame(b"".join(parts))
                parts, size = [parts[0]], len(parts[0])
            parts.append(item)
            size += len(item)
        if len(parts) > 1:
            self._send_frame(b"".join(parts))

    def _send_frame(self, frame: bytes) -> None:
        if self._closing or self._pair is None:
            return
        if not self._frames:
            try:
                self._pair.send(frame)
                return
            except (BlockingIOError, InterruptedError):
                self._loop.add_writer(self._pair.fileno(), self._write_ready)
            except OSError as exc:
                log.debug("front: %s", exc)
                return
        self._frames.append(frame)

    def _write_ready(self) -> None:
        while self._frames and self._pair is not None:
            try:
                self._pair.send(self._frames[0])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._frames.clear()
                break
            self._frames.popleft()
        if self._pair is not None:
            self._loop.remove_writer(self._pair.fileno())

    # -- the link's end -------------------------------------------------------------------------

    def _front_gone(self, why: str) -> None:
        self._drop_pair()
        self._link_lost(why)

    def _link_lost(self, why: str) -> None:
        """A worker's link: the main bridge hands it a new one when it starts a new front."""
        log.error("UDP link to the front closed (%s): waiting for a new one", why)

    def _drop_pair(self) -> None:
        pair, self._pair = self._pair, None
        self._frames.clear()
        if pair is not None:
            unwatch(self._loop, pair)

    def _release(self) -> None:
        self._out.clear()
        self._drop_pair()
        self._sock.close()


class FrontEndpoint(LinkEndpoint):
    """The main bridge's end: binds the SIP socket, starts the front with it and one end of a
    pair, and starts another front if that one dies. With call workers (`shards` > 1) the
    front splits datagrams by Call-ID; `on_spawned` is told each time a front started, so that
    the workers get links to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, on_datagram: OnDatagram,
                 shedding: Callable[[], bool] = lambda: False, on_refused: Callable[[int], None] = lambda n: None,
                 allow_external: bool = False, wall: Callable[[], float] = time.time, shards: int = 1) -> None:
        super().__init__(loop, sock, on_datagram, shedding, on_refused, wall, direct=shards > 1)
        self._allow_external = allow_external
        self.shards = shards
        self.on_spawned: Callable[[], None] | None = None
        self._spawned_at = float("-inf")
        self.proc: subprocess.Popen | None = None
        self._spawn()

    @classmethod
    def open(cls, loop: asyncio.AbstractEventLoop, host: str, port: int, on_datagram: OnDatagram,
             **kwargs) -> FrontEndpoint:
        sock = bound_socket(host, port)
        try:
            return cls(loop, sock, on_datagram, **kwargs)
        except BaseException:
            sock.close()
            raise

    def _spawn(self) -> None:
        ours, theirs = pair_of_links()
        try:
            cmd = [sys.executable, "-m", "sipconf.bridge.front", str(self._sock.fileno()), str(theirs.fileno()),
                   "--parent", str(os.getpid()), "--shards", str(self.shards)]
            if self._allow_external:
                cmd.append("--allow-external")
            self.proc = subprocess.Popen(cmd, pass_fds=(self._sock.fileno(), theirs.fileno()),
                                         stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._spawned_at = self._loop.time()
        self.relink(ours)
        if self.on_spawned is not None:
            self.on_spawned()

    def attach(self, shard: int, pair_end: socket.socket) -> None:
        """Hand the front `pair_end`, the link to shard `shard`'s worker (SCM_RIGHTS)."""
        if self._pair is None or self._closing:
            return
        try:
            socket.send_fds(self._pair, [wire.header(wire.ATTACH, shard)], [pair_end.fileno()])
        except OSError as exc:
            log.warning("front: could not hand it the link to call worker %d: %s", shard, exc)

    def _link_lost(self, why: str) -> None:
        self._stop_front()
        if self._loop.time() - self._spawned_at >= RESPAWN_INTERVAL:
            log.error("UDP front stopped (%s): starting another", why)
            try:
                self._spawn()
                return
            except OSError as exc:
                why = f"{type(exc).__name__}: {exc}"
        log.error("UDP listener stopped: its front stopped (%s)", why)
        self.abort()

    def _stop_front(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _release(self) -> None:
        super()._release()
        self._stop_front()


def pair_of_links() -> tuple[socket.socket, socket.socket]:
    """A socket pair for a link between the front and a bridge process, with small buffers."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for end in (ours, theirs):
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            try:
                end.setsockopt(socket.SOL_SOCKET, option, PAIR_BUFFER)
            except OSError:
                pass
    return ours, theirs
