"""Which bridge process owns a call: its Call-ID decides, the same way in every process.

With `sipconf up --workers N` the SIP work is split over N processes (shards): the main
process (shard 0, which also keeps the control plane and the TCP listener) and N - 1 call
workers (`sipconf.bridge.worker`). The UDP front (`sipconf.bridge.front`) hands every datagram
to the shard its Call-ID names, so a call's transactions, its dialog, its digest nonce (LiveKit
remembers a challenge per Call-ID and From tag) and its replay-cache entry all live in one
process. Outbound calls are placed by the main process, with a Call-ID it owns.

`call_id_of` reads the Call-ID from a datagram's raw bytes (the front never parses a whole
message); `shard_of` maps it to a shard. A datagram without a readable Call-ID goes to the
main process, which answers or drops it as it would without shards.
"""

from __future__ import annotations

import re
import zlib

__all__ = ["call_id_of", "shard_of", "owns"]

# RFC 3261 20.8: `Call-ID` or its compact form `i`, any case, white space before the colon.
_CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)


def call_id_of(data: bytes) -> bytes | None:
    """The first Call-ID value in the header block of a datagram, or None."""
    end = data.find(b"\r\n\r\n")
    found = _CALL_ID.search(data, data.find(b"\n") + 1, end if end >= 0 else len(data))
    return found.group(1) if found else None


def shard_of(data: bytes, shards: int) -> int:
    """The shard (0 .. shards - 1) a datagram belongs to."""
    if shards <= 1:
        return 0
    call_id = call_id_of(data)
    return 0 if call_id is None else zlib.crc32(call_id) % shards


def owns(call_id: str, shard: int, shards: int) -> bool:
    """Whether `call_id` (as the message parser reads it) belongs to `shard`."""
    return shards <= 1 or zlib.crc32(call_id.encode("utf-8", "surrogateescape")) % shards == shard
