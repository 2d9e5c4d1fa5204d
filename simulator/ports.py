"""Free loopback ports for SIPp (`-p`, `-cp`, `-mp`), far ends and the embedded services.

Binding port 0 and closing leaves a race (pysipp's netplug admits it): the kernel hands the
same ephemeral range to every `bind(0)` and outgoing connection on the machine, so the
bridge's RTP sockets, other test processes and SIPp's own sockets can take a port between
the moment we check it and the moment SIPp binds it (SIPp then exits 254, "Unable to bind").
So ports for processes we start come from BELOW the kernel's ephemeral range
(`ip_local_port_range`), where nothing binds unless asked to, picked at random and checked
free for both UDP and TCP; one process-wide allocator never hands out the same port twice.
SIPp runs are still retried on a bind failure (`simulator.sipprun`), for processes that
pick fixed ports of their own.
"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

_lock = threading.Lock()
_given: set[int] = set()
_random = random.SystemRandom()
LOWEST = 20000  # below the usual registered services we might meet on a dev box


def ephemeral_range(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux default 32768-60999)."""
    try:
        low, high = (int(x) for x in path.read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1", count: int = 1) -> int:
    """A port free for UDP and TCP on `host`; with count>1, the first of `count` consecutive
    free ports (SIPp's `-mp` uses the RTP port and the next one)."""
    low, _ = ephemeral_range()
    with _lock:
        for _ in range(500):
            if low - count > LOWEST:
                base = _random.randrange(LOWEST, low - count)
            else:  # no room below the ephemeral range: fall back to the kernel's choice
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind((host, 0))
                    base = probe.getsockname()[1]
            if base + count > 65535:
                continue
            span = range(base, base + count)
            if any(p in _given for p in span) or not all(_is_free(host, p) for p in span):
                continue
            _given.update(span)
            return base
    raise OSError(f"no free port on {host}")


def _is_free(host: str, port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


async def wait_free(address: tuple[str, int], transport: str, timeout: float) -> bool:
    """Wait until `address` can be bound (a far end's fixed trunk address): the runner
    serialises far ends within one run, but another suite on the same machine (make demo
    beside make test) may hold it for a while. False when it stayed taken."""
    import asyncio

    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with socket.socket(socket.AF_INET, kind) as probe:
            if kind == socket.SOCK_STREAM:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
            try:
                probe.bind(address)
                return True
            except OSError:
                if loop.time() >= deadline:
                    return False
        await asyncio.sleep(0.05)
