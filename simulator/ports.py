"""Free loopback ports for SIPp (`-p`, `-cp`, `-mp`), far ends and the embedded services.

Binding port 0 and closing leaves a race (pysipp's netplug admits it), so callers that
can bind and keep a socket do; for processes we start (SIPp) we hand out ports from one
process-wide allocator that never gives the same port twice, and check each one is free
for both UDP and TCP at the moment it is handed out.
"""

from __future__ import annotations

import socket
import threading

_lock = threading.Lock()
_given: set[int] = set()


def free_port(host: str = "127.0.0.1", count: int = 1) -> int:
    """A port free for UDP and TCP on `host`; with count>1, the first of `count` consecutive
    free ports (SIPp's `-mp` uses the RTP port and the next one)."""
    with _lock:
        for _ in range(200):
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
