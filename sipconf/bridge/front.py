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


class Front:
    def __init__(self, udp: socket.socket, pair: socket.socket, allow_external: bool = False) -> None:
        self.udp = udp
        self.pair = pair
        self.allow_external = allow_external
        self.family = udp.family
        self.shedding = _Shedding(self._bridge_behind)
        self.sent: collections.OrderedDict[str, None] = collections.OrderedDict()  # INVITE branches handed on
        self.holding: dict[str, int] = {}  # INVITE branches held here -> how many copies
        self._sweeping = False
        self.door = Doorman(self.shedding, self._live, lambda: None)
        # (arrival, address, datagram, its branch if an INVITE) not yet handed to the bridge
        self.held: collections.deque[tuple[float, tuple, bytes, str | None]] = collections.deque()
        self.frames: collections.deque[bytes] = collections.deque()  # frames the pair had no room for
        self.outgoing: collections.deque[tuple[bytes, tuple[str, int]]] = collections.deque()
        self.dropped = 0
        # A frame must fit the pair's send buffer whole (SOCK_SEQPACKET): half of it, at most MAX_FRAME.
        self.max_frame = min(wire.MAX_FRAME, pair.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) // 2)
        self._ancillary = TIMESTAMP_SPACE

    # -- the SIP socket -------------------------------------------------------------------

    def read_udp(self) -> None:
        sock = self.udp
        for _ in range(BATCH):
            try:
                data, ancillary, _flags, addr = sock.recvmsg(MAX_DATAGRAM, self._ancillary)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # an ICMP error for an earlier send: the socket goes on
            arrival = timestamp_of(ancillary) or time.time()
            if not self._screened(data, addr):
                branch = Doorman._top_branch(data) if data.startswith(b"INVITE ") else None
                if branch:
                    self.holding[branch] = self.holding.get(branch, 0) + 1
                self.held.append((arrival, addr, data, branch))
        while len(self.held) > MAX_HELD:
            self._release(self.held.popleft()[3])
            self.dropped += 1
        self.to_bridge()

    def _screened(self, data: bytes, addr: tuple) -> bool:
        """Answered (503) or dropped (the ACK of a refused INVITE) here."""
        if self.door.branches or time.monotonic() < self.shedding.until:
            try:
                return self.door.screen(data, UdpSource(self, (addr[0], addr[1])))
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

    def _shed_held(self) -> None:
        """The bridge is overloaded: new INVITEs still held here (never handed on) are answered
        503 now rather than handed on late; the bridge would refuse them too, at its own cost."""
        kept: collections.deque[tuple[float, tuple, bytes, str | None]] = collections.deque()
        self._sweeping = True
        try:
            for item in self.held:
                if item[3] and self._screened(item[2], item[1]):
                    self._release(item[3])
                else:
                    kept.append(item)
        finally:
            self._sweeping = False
        self.held = kept

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

    # -- the pair -------------------------------------------------------------------------

    def to_bridge(self) -> None:
        """Frames of the held records (and the refusals since the last one), while the pair
        takes them."""
        while self.frames:
            if not self._send_frame(self.frames[0]):
                return
            self.frames.popleft()
        while self.held or self.shedding.refused:
            parts = [wire.header(wire.DATAGRAMS, self.shedding.refused)]
            size = len(parts[0])
            while self.held and (size + len(self.held[0][2]) < self.max_frame - 64 or len(parts) == 1):
                arrival, addr, data, branch = self.held.popleft()
                if branch:
                    self._release(branch)
                    self.sent[branch] = None
                    if len(self.sent) > FORWARDED:
                        self.sent.popitem(last=False)
                item = wire.record(arrival, addr[0], addr[1], data)
                parts.append(item)
                size += len(item)
            self.shedding.refused = 0
            frame = b"".join(parts)
            if not self._send_frame(frame):
                self.frames.append(frame)
                return

    def _send_frame(self, frame: bytes) -> bool:
        try:
            self.pair.send(frame)
            return True
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:  # EMSGSIZE: one datagram bigger than the pair can ever take
            log.debug("front: a frame of %d bytes dropped: %s", len(frame), exc)
            return True

    def from_bridge(self) -> bool:
        """Frames from the bridge; False once it closed its end."""
        while True:
            try:
                frame = self.pair.recv(wire.MAX_FRAME + 4096)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            if not frame:
                return False
            kind, number = wire.kind_of(frame)
            if kind == wire.SEND:
                for _arrival, addr, data in wire.records(frame):
                    self._send_udp(data, addr)
            elif kind == wire.SHED:
                was = time.monotonic() < self.shedding.until
                self.shedding.until = time.monotonic() + number / 1000
                if number and not was and self.held:
                    self._shed_held()

    def _bridge_behind(self) -> bool:
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


def serve(front: Front) -> None:
    udp, pair = front.udp.fileno(), front.pair.fileno()
    poller = select.poll()
    while True:
        poller.register(udp, select.POLLIN | (select.POLLOUT if front.outgoing else 0))
        poller.register(pair, select.POLLIN | (select.POLLOUT if front.backlog else 0))
        for fd, events in poller.poll():
            if fd == pair:
                if events & (select.POLLHUP | select.POLLERR) and not events & select.POLLIN:
                    return
                if events & select.POLLIN and not front.from_bridge():
                    return
                if events & select.POLLOUT:
                    front.to_bridge()
            else:
                if events & select.POLLOUT:
                    front.write_udp()
                if events & select.POLLIN:
                    front.read_udp()


def _die_with_parent() -> None:
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
    args = parser.parse_args(argv)
    _die_with_parent()
    if args.parent and os.getppid() != args.parent:
        return 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bridge's to handle; it closes the pair
    udp = socket.socket(fileno=args.udp_fd)
    pair = socket.socket(fileno=args.pair_fd)
    udp.setblocking(False)
    pair.setblocking(False)
    serve(Front(udp, pair, args.allow_external))
    return 0


if __name__ == "__main__":
    sys.exit(main())
