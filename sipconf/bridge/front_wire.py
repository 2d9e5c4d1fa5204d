"""The frames the bridge and its UDP front (`sipconf.bridge.front`) pass over their socket pair.

One frame is one message of the pair (AF_UNIX, SOCK_SEQPACKET: frames are never split or merged).
It starts with a kind and a number, then holds records:

- `DATAGRAMS` (front -> bridge): the SIP datagrams the front read, each with its kernel arrival
  time and source address; the number is how many new INVITEs the front answered 503 itself
  since its last frame (the bridge counts them as its own refusals).
- `SEND` (bridge -> front): datagrams for the front to send from the SIP port; number unused.
- `SHED` (bridge -> front): no records; the number is how many milliseconds from now the front
  refuses new INVITEs (0: stop now). The bridge repeats it while it stays overloaded, so a
  bridge that stops saying it (idle, or gone) stops the refusals within that time.
- `ATTACH` (main bridge -> front, with `sipconf up --workers`): no records; the frame carries
  one end of a new socket pair (SCM_RIGHTS), the link to the call worker whose shard is the
  number (`sipconf.bridge.shards`). It replaces that shard's link, if it had one.

A record is (arrival, port, address length, data length), the address (ASCII) and the data.
`records` reads a frame built by `frame`; anything malformed raises ValueError (the pair is
private to the two processes, so that would be a bug, never a peer's doing).
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator

__all__ = ["ATTACH", "DATAGRAMS", "MAX_FRAME", "SEND", "SHED", "frame", "header", "records"]

DATAGRAMS, SEND, SHED, ATTACH = 1, 2, 3, 4
MAX_FRAME = 128 * 1024  # below the pair's default send buffer (net.core.wmem_default, 208 KiB)
_HEADER = struct.Struct("!BI")
_RECORD = struct.Struct("!dHBI")

Record = tuple[float, tuple[str, int], bytes]  # (arrival, (host, port), data)


def frame(kind: int, number: int, items: Iterable[Record] = ()) -> bytes:
    return header(kind, number) + b"".join(record(arrival, host, port, data) for arrival, (host, port), data in items)


def record(arrival: float, host: str, port: int, data: bytes) -> bytes:
    """One record, for a frame built piece by piece (`header` + records, up to MAX_FRAME)."""
    address = host.encode("ascii")
    return _RECORD.pack(arrival, port, len(address), len(data)) + address + data


def header(kind: int, number: int) -> bytes:
    return _HEADER.pack(kind, number)


def kind_of(data: bytes) -> tuple[int, int]:
    if len(data) < _HEADER.size:
        raise ValueError(f"short frame ({len(data)} bytes)")
    return _HEADER.unpack_from(data)


def records(data: bytes) -> Iterator[Record]:
    offset, end, size = _HEADER.size, len(data), _RECORD.size
    while offset < end:
        if end - offset < size:
            raise ValueError("truncated record header")
        arrival, port, address_length, data_length = _RECORD.unpack_from(data, offset)
        offset += size
        stop = offset + address_length + data_length
        if stop > end:
            raise ValueError("truncated record")
        host = data[offset:offset + address_length].decode("ascii")
        offset += address_length
        yield arrival, (host, port), data[offset:stop]
        offset = stop
