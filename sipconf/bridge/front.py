"""The UDP front: a second process that does the SIP port's datagram work, so the bridge's one
core is left for calls.

`sipconf up` starts it (`python -m sipconf.bridge.front UDP_FD PAIR_FD`) with the bound SIP UDP
socket and one end of a socket pair (`sipconf.bridge.front_endpoint` is the bridge's end). It:

- reads the SIP socket in batches with each datagram's kernel arrival time, and hands them to
  the bridge in frames (`sipconf.bridge.front_wire`), so the bridge makes one system call for a
  batch instead of one per datagram, and sees how long each waited, front included;
- sends what the bridge gives it from the SIP port (the bridge checked every destination);
- while the bridge says it is overloaded, answers new INVITEs 503 + Retry-After itself, with
  the bridge's own stateless door (`sipconf.bridge.shedding.Doorman`: the same checks, the same
  503, the refused branch remembered for its ACK and retransmissions). A refusal then costs the
  bridge nothing; that is what keeps goodput up past saturation. INVITEs it handed on are
  remembered too, so a retransmission of one is handed on again, never refused. It keeps no
  other state: transactions, dialogs, digest nonces and back-off stay in the bridge.

Nothing it reads can stop it: a datagram it cannot judge is handed on as it came. It ends when
the bridge closes its end of the pair (or dies: the pair closes, and the kernel is asked to
stop it with the bridge as well).
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import fcntl
import logging
import os
import select
import signal
import socket
import sys
import termios
import time
from typing import Callable

from sipconf.bridge import front_wire as wire
from sipconf.bridge.addresses import AddressError, destination
from sipconf.bridge.admission import AdmissionLimits, Refusal
from sipconf.bridge.shards import shard_of
from sipconf.bridge.shedding import Doorman
from sipconf.bridge.transport import UdpSource
from sipconf.bridge.udp import BATCH, MAX_DATAGRAM, TIMESTAMP_SPACE, timestamp_of
from sipconf.sip.message import Message

__all__ = ["Front", "main"]

log = logging.getLogger("sipconf.bridge.front")

FORWARDED = 65536  # INVITE branches handed on, remembered so that a retransmission is never refused
MAX_HELD = 50_000  # datagrams held while the bridge reads slower than they come (then: oldest dropped)


class _Shedding:
    """What the door asks of admission control: the bridge's word, while the bridge is behind."""

    def __init__(self, behind: Callable[[], bool]) -> None:
        self.until = 0.0  # monotonic time the bridge's last SHED runs out
        self.behind = behind
        self.limits = AdmissionLimits()
        self.refused = 0  # since the last frame to the bridge

    def observe(self, queued: float) -> None:
        pass  # the bridge averages the ages; the front only follows its word

    def stale(self, queued: float) -> bool:
        """The bridge said it is overloaded and has not read all it was handed yet: a bridge
        that caught up gets calls again at once, whatever its last word."""
        return time.monotonic() < self.until and self.behind()

    def refuse(self, why: str) -> Refusal:
        self.refused += 1
        return Refusal(why, retry_after=self.limits.retry_after)


class _Link:
    """One bridge process the front hands datagrams to: the main bridge (shard 0) or a call
    worker. Each has its own word on shedding, its own door and its own backlog."""

    def __init__(self, front: "Front", pair: socket.socket) -> None:
        self.pair = pair
        self.shedding = _Shedding(self._behind)
        self.door = Doorman(self.shedding, front._live, lambda: None)
        # (arrival, address, datagram, its branch if an INVITE) not yet handed to the bridge
        self.held: collections.deque[tuple[float, tuple, bytes, str | None]] = collections.deque()
        self.frames: collections.deque[bytes] = collections.deque()  # frames the pair had no room for
        # A frame must fit the pair's send buffer whole (SOCK_SEQPACKET): half of it, at most MAX_FRAME.
        self.max_frame = min(wire.MAX_FRAME, pair.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) // 2)

    def _behind(self) -> bool:
        """Datagrams held here, or frames in the pair the bridge has not read (their bytes
        still count against our end's send buffer: TIOCOUTQ, alias SIOCOUTQ)."""
        if self.held:
            return True
        try:
            unread = fcntl.ioctl(self.pair.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return True  # cannot tell: the bridge's word alone
        return int.from_bytes(unread, sys.byteorder) > 0

    @property
    def backlog(self) -> bool:
        return bool(self.frames or self.held)


class Front:
    """`links[0]` is the main bridge; with call workers, `links[k]` is shard k's (None while
    it has none: its datagrams then go to the main bridge)."""

    def __init__(self, udp: socket.socket, pair: socket.socket, allow_external: bool = False, shards: int = 1) -> None:
        self.udp = udp
        self.allow_external = allow_external
        self.family = udp.family
        self.links: list[_Link | None] = [_Link(self, pair)] + [None] * (max(1, shards) - 1)
        self.sent: collections.OrderedDict[str, None] = collections.OrderedDict()  # INVITE branches handed on
        self.holding: dict[str, int] = {}  # INVITE branches held here -> how many copies
        self._sweeping = False
        self.outgoing: collections.deque[tuple[bytes, tuple[str, int]]] = collections.deque()
        self.dropped = 0
        self._ancillary = TIMESTAMP_SPACE

    @property
    def main(self) -> _Link:
        return self.links[0]  # type: ignore[return-value]

    # Kept for the single-link callers (tests, the door's 503s).
    @property
    def pair(self) -> socket.socket:
        return self.main.pair

    @property
    def shedding(self) -> _Shedding:
        return self.main.shedding

    @property
    def held(self) -> collections.deque:
        return self.main.held

    def link_for(self, data: bytes) -> _Link:
        link = self.links[shard_of(data, len(self.links))] if len(self.links) > 1 else None
        return link if link is not None else self.main

    def attach(self, shard: int, pair: socket.socket) -> _Link | None:
        """Shard `shard`'s new link (its worker started, or started again); the old one goes."""
        if not 0 < shard < len(self.links):
            pair.close()
            return None
        old = self.links[shard]
        if old is not None:
            self.detach(old)
        pair.setblocking(False)
        link = self.links[shard] = _Link(self, pair)
        return link

    def detach(self, link: _Link) -> None:
        """A worker's link closed: what it held goes to the main bridge."""
        for k, known in enumerate(self.links):
            if known is link and k:
                self.links[k] = None
        for item in link.held:
            self._release(item[3])
        link.held.clear()
        link.pair.close()

    # -- the SIP socket -------------------------------------------------------------------

    def read_udp(self) -> None:
        sock = self.udp
        touched: list[_Link] = []
        for _ in range(BATCH):
            try:
                data, ancillary, _flags, addr = sock.recvmsg(MAX_DATAGRAM, self._ancillary)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # an ICMP error for an earlier send: the socket goes on
            arrival = timestamp_of(ancillary) or time.time()
            link = self.link_for(data)
            if not self._screened(link, data, addr):
                branch = Doorman._top_branch(data) if data.startswith(b"INVITE ") else None
                if branch:
                    self.holding[branch] = self.holding.get(branch, 0) + 1
                link.held.append((arrival, addr, data, branch))
            if link not in touched:
                touched.append(link)
        for link in touched:
            while len(link.held) > MAX_HELD:
                self._release(link.held.popleft()[3])
                self.dropped += 1
            self.to_bridge(link)

    def _screened(self, link: _Link, data: bytes, addr: tuple) -> bool:
        """Answered (503) or dropped (the ACK of a refused INVITE) here."""
        if link.door.branches or time.monotonic() < link.shedding.until:
            try:
                return link.door.screen(data, UdpSource(self, (addr[0], addr[1])))
            except Exception:  # never lose a datagram to the door: the bridge judges it
                log.debug("front: door failed on a datagram from %s", addr[0], exc_info=True)
        return False

    def _live(self, branch: str, _sent_by: str) -> bool:
        """An INVITE the bridge has (or will have, unless swept): its retransmission is handed
        on too, never refused."""
        return branch in self.sent or (not self._sweeping and branch in self.holding)

    def _release(self, branch: str | None) -> None:
        if branch:
            left = self.holding.get(branch, 0) - 1
            if left > 0:
                self.holding[branch] = left
            else:
                self.holding.pop(branch, None)

    def _shed_held(self, link: _Link) -> None:
        """The bridge is overloaded: new INVITEs still held here (never handed on) are answered
        503 now rather than handed on late; the bridge would refuse them too, at its own cost."""
        kept: collections.deque[tuple[float, tuple, bytes, str | None]] = collections.deque()
        self._sweeping = True
        try:
            for item in link.held:
                if item[3] and self._screened(link, item[2], item[1]):
                    self._release(item[3])
                else:
                    kept.append(item)
        finally:
            self._sweeping = False
        link.held = kept

    def sendto(self, message: Message | bytes, addr: tuple[str, int]) -> None:
        """The door's 503s: checked as the bridge checks its own sends."""
        try:
            target = destination(addr[0], addr[1], allow_external=self.allow_external, family=self.family)
        except AddressError:
            return
        self._send_udp(message if isinstance(message, bytes) else bytes(message), target)

    def _send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.outgoing:
            try:
                self.udp.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                return
        self.outgoing.append((data, addr))

    def write_udp(self) -> None:
        while self.outgoing:
            data, addr = self.outgoing[0]
            try:
                self.udp.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                pass
            self.outgoing.popleft()

    # -- the pairs ------------------------------------------------------------------------

    def to_bridge(self, link: _Link | None = None) -> None:
        """Frames of the held records (and the refusals since the last one), while the pair
        takes them."""
        link = link or self.main
        while link.frames:
            if not self._send_frame(link, link.frames[0]):
                return
            link.frames.popleft()
        while link.held or link.shedding.refused:
            parts = [wire.header(wire.DATAGRAMS, link.shedding.refused)]
            size = len(parts[0])
            while link.held and (size + len(link.held[0][2]) < link.max_frame - 64 or len(parts) == 1):
                arrival, addr, data, branch = link.held.popleft()
                if branch:
                    self._release(branch)
                    self.sent[branch] = None
                    if len(self.sent) > FORWARDED:
                        self.sent.popitem(last=False)
                item = wire.record(arrival, addr[0], addr[1], data)
                parts.append(item)
                size += len(item)
            link.shedding.refused = 0
            frame = b"".join(parts)
            if not self._send_frame(link, frame):
                link.frames.append(frame)
                return

    @staticmethod
    def _send_frame(link: _Link, frame: bytes) -> bool:
        try:
            link.pair.send(frame)
            return True
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:  # EMSGSIZE: one datagram bigger than the pair can ever take
            log.debug("front: a frame of %d bytes dropped: %s", len(frame), exc)
            return True

    def from_bridge(self, link: _Link | None = None) -> bool:
        """Frames from a bridge process; False once it closed its end."""
        link = link or self.main
        main = link is self.main
        while True:
            try:
                if main:
                    frame, fds, _flags, _addr = socket.recv_fds(link.pair, wire.MAX_FRAME + 4096, 1)
                else:
                    frame, fds = link.pair.recv(wire.MAX_FRAME + 4096), []
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            if not frame:
                for fd in fds:
                    os.close(fd)
                return False
            kind, number = wire.kind_of(frame)
            if kind == wire.SEND:
                for _arrival, addr, data in wire.records(frame):
                    self._send_udp(data, addr)
            elif kind == wire.SHED:
                was = time.monotonic() < link.shedding.until
                link.shedding.until = time.monotonic() + number / 1000
                if number and not was and link.held:
                    self._shed_held(link)
            elif kind == wire.ATTACH and fds:
                self.attach(number, socket.socket(fileno=fds.pop(0)))
            for fd in fds:
                os.close(fd)

    def _bridge_behind(self) -> bool:
        return self.main._behind()

    @property
    def backlog(self) -> bool:
        return any(link is not None and link.backlog for link in self.links)


def serve(front: Front) -> None:
    udp = front.udp.fileno()
    poller = select.poll()
    while True:
        by_fd = {link.pair.fileno(): link for link in front.links if link is not None}
        poller.register(udp, select.POLLIN | (select.POLLOUT if front.outgoing else 0))
        for fd, link in by_fd.items():
            poller.register(fd, select.POLLIN | (select.POLLOUT if link.backlog else 0))
        for fd, events in poller.poll():
            if fd == udp:
                if events & select.POLLOUT:
                    front.write_udp()
                if events & select.POLLIN:
                    front.read_udp()
                continue
            link = by_fd.get(fd)
            if link is None or link.pair.fileno() != fd:
                continue
            gone = bool(events & (select.POLLHUP | select.POLLERR) and not events & select.POLLIN)
            if not gone and events & select.POLLIN:
                gone = not front.from_bridge(link)
            if gone:
                if link is front.main:
                    return
                poller.unregister(fd)
                front.detach(link)
                continue
            if events & select.POLLOUT:
                front.to_bridge(link)
        for fd in by_fd:
            if all(link is None or link.pair.fileno() != fd for link in front.links):
                try:
                    poller.unregister(fd)
                except KeyError:
                    pass


def die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM when the bridge (our parent) ends, however it ends."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sipconf.bridge.front", description=__doc__.split("\n")[0])
    parser.add_argument("udp_fd", type=int)
    parser.add_argument("pair_fd", type=int)
    parser.add_argument("--allow-external", action="store_true")
    parser.add_argument("--parent", type=int, default=0, help="the bridge's pid: gone already -> exit")
    parser.add_argument("--shards", type=int, default=1, help="bridge processes the datagrams are split over")
    args = parser.parse_args(argv)
    die_with_parent()
    if args.parent and os.getppid() != args.parent:
        return 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bridge's to handle; it closes the pair
    udp = socket.socket(fileno=args.udp_fd)
    pair = socket.socket(fileno=args.pair_fd)
    udp.setblocking(False)
    pair.setblocking(False)
    serve(Front(udp, pair, args.allow_external, args.shards))
    return 0


if __name__ == "__main__":
    sys.exit(main())
