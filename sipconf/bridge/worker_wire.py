"""The control link between the main bridge and a call worker (`sipconf up --workers`).

An AF_UNIX SOCK_SEQPACKET pair, private to the two processes. One packet is a list of
messages, each a tuple whose first item names it (`marshal`: plain values only, no code).
What one side says while its loop runs one callback goes out as one packet at the end of it.

Worker -> main: `join`, `attrs`, `leave` (the participant sink, applied to the control plane's
rooms), `backoff` (a digest answer checked: relayed to every other process, so back-off is
counted over all of them), `metrics` (its counters, for `/metrics`), `transferred` (the end of
a TransferSIPParticipant), `ready`.

Main -> worker: `removed` (the API removed a participant), `backoff` (relayed), `transfer`
(TransferSIPParticipant for a call the worker holds), and `link` (the worker's new link to
the UDP front, its file descriptor passed with SCM_RIGHTS).
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import os
import socket
from typing import Callable

__all__ = ["Channel", "MAX_PACKET"]

log = logging.getLogger("sipconf.bridge.workers")

MAX_PACKET = 256 * 1024
BUFFER = 1024 * 1024

Handler = Callable[[tuple, list[int]], None]  # (message, file descriptors passed with it)


class Channel:
    """One end of a control link on the running loop: `say(message)`, `say_with_fd(message,
    fd)`; every message received goes to `on_message`, and `on_closed()` once the other end
    is gone."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, on_message: Handler,
                 on_closed: Callable[[], None]) -> None:
        self._loop = loop
        self.sock = sock
        self._on_message = on_message
        self._on_closed = on_closed
        self._out: list[tuple] = []
        self._closed = False
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, BUFFER)
            except OSError:
                pass
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._read_ready)

    @property
    def closed(self) -> bool:
        return self._closed

    def say(self, message: tuple) -> None:
        if self._closed:
            return
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(message)

    def say_with_fd(self, message: tuple, fd: int) -> bool:
        """At once, with `fd` (after what was said before it)."""
        self._flush()
        if self._closed:
            return False
        try:
            socket.send_fds(self.sock, [marshal.dumps([message])], [fd])
            return True
        except OSError as exc:
            log.warning("control link: %s", exc)
            return False

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out:
            self._send_batch(out)

    def _send_batch(self, batch: list[tuple]) -> None:
        packet = marshal.dumps(batch)
        if len(packet) > MAX_PACKET and len(batch) > 1:
            half = len(batch) // 2
            self._send_batch(batch[:half])
            self._send_batch(batch[half:])
        elif not self._closed:
            self._send(packet)

    def _send(self, packet: bytes) -> None:
        try:
            self.sock.send(packet)
            return
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            log.debug("control link: %s", exc)
            self.close()
            return
        # The other end is behind: wait for it, since a message of the participant sink must
        # not be lost (it reads as fast as it can).
        self.sock.setblocking(True)
        try:
            self.sock.send(packet)
        except OSError as exc:
            log.debug("control link: %s", exc)
            self.close()
        finally:
            if not self._closed:
                self.sock.setblocking(False)

    def _read_ready(self) -> None:
        for _ in range(64):
            try:
                packet, fds, _flags, _addr = socket.recv_fds(self.sock, MAX_PACKET, 4)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                packet, fds = b"", []
            if not packet:
                for fd in fds:
                    os.close(fd)
                self.close()
                return
            try:
                messages = marshal.loads(packet)
            except (EOFError, ValueError, TypeError):
                log.error("control link: a packet that does not decode (%d bytes)", len(packet))
                continue
            for message in messages:
                try:
                    self._on_message(message, fds)
                except Exception:
                    log.exception("control link: message %r failed", message[:1])
                fds = []
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()
        self._on_closed()
