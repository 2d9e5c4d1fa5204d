"""Exact call setup times: a packet capture of one SIP port on the loopback interface.

`capture(port, path)` runs `dumpcap` (it comes with tshark) for the duration of a `with`
block; `setup_times(path)` reads the capture and returns, per call (Call-ID), the time from
the first INVITE to the first final response to it, split by status. The kernel stamps each
packet as it crosses `lo`, so the figure is what the responder took, its socket queue
included, and nothing of SIPp's own scheduling.
"""

from __future__ import annotations

import contextlib
import signal
import struct
import subprocess
import time
from pathlib import Path
from typing import Iterator

SNAPLEN = 2048  # the header section of the bench's messages fits
_LINK_HEADER = {1: 14, 113: 16, 276: 20, 0: 4}  # Ethernet (lo), Linux cooked v1 and v2, BSD loopback


@contextlib.contextmanager
def capture(port: int, path: Path) -> Iterator[None]:
    """Capture UDP packets to or from `port` on `lo` into `path` (pcap format)."""
    proc = subprocess.Popen(["dumpcap", "-i", "lo", "-f", f"udp port {port}", "-s", str(SNAPLEN), "-P", "-q",
                             "-w", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not path.exists() or path.stat().st_size == 0:  # the file header is written once it captures
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dumpcap did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
            time.sleep(0.05)
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # dumpcap flushes and exits
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def packets(path: Path) -> Iterator[tuple[float, bytes]]:
    """(time, UDP payload) of every IPv4 UDP packet in a pcap file."""
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    scale = 1e-9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e-6
    link = struct.unpack(endian + "I", data[20:24])[0]
    skip = _LINK_HEADER.get(link)
    if skip is None:
        raise ValueError(f"{path}: link type {link} not supported")
    record = struct.Struct(endian + "IIII")
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, _ = record.unpack_from(data, offset)
        offset += 16
        frame = data[offset:offset + captured]
        offset += captured
        ip = frame[skip:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4:]
        yield seconds + fraction * scale, udp[8:]


def setup_times(path: Path) -> dict[int, list[float]]:
    """Final status -> [ms from a call's first INVITE to its first final response with that
    status]; calls without both in the capture are left out."""
    invited: dict[bytes, float] = {}
    answered: dict[bytes, tuple[int, float]] = {}
    for when, payload in packets(path):
        head = payload.split(b"\r\n\r\n", 1)[0]
        lines = head.split(b"\r\n")
        call_id = _header(lines, (b"call-id", b"i"))
        if call_id is None:
            continue
        if lines[0].startswith(b"INVITE "):
            invited.setdefault(call_id, when)
        elif lines[0].startswith(b"SIP/2.0 "):
            status = lines[0][8:11]
            cseq = _header(lines, (b"cseq",)) or b""
            if status.isdigit() and int(status) >= 200 and cseq.endswith(b"INVITE") and call_id not in answered:
                answered[call_id] = (int(status), when)
    found: dict[int, list[float]] = {}
    for call_id, (status, when) in answered.items():
        sent = invited.get(call_id)
        if sent is not None:
            found.setdefault(status, []).append((when - sent) * 1000)
    return found


def _header(lines: list[bytes], names: tuple[bytes, ...]) -> bytes | None:
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in names:
            return value.strip()
    return None


def percentile(values: list[float] | tuple[float, ...], share: float) -> float:
    """The nearest-rank percentile (`share` 0.99 = p99); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]
