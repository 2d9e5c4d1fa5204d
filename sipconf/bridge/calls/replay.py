"""The rejected-INVITE replay cache (docs/livekit.md#replay-cache).

"Final responses >= 300 marked cached are stored 1 minute (max 5000) under (SIP Call-ID,
From-tag). A later INVITE with that key gets the same status and reason at once: no 100, no
auth or dispatch call." Drops, 401/407 and 486/487 closings are never put here.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from sipconf.bridge.clock import Clock

TTL = 60.0
CAPACITY = 5000


class ReplayCache:
    def __init__(self, clock: Clock, ttl: float = TTL, capacity: int = CAPACITY) -> None:
        self.clock = clock
        self.ttl = ttl
        self.capacity = capacity
        self._items: OrderedDict[bytes, tuple[float, int, str]] = OrderedDict()

    def get(self, call_id: str, from_tag: str) -> tuple[int, str] | None:
        key = _key(call_id, from_tag)
        item = self._items.get(key)
        if item is None:
            return None
        stored, status, reason = item
        if self.clock.now() - stored >= self.ttl:
            del self._items[key]
            return None
        return status, reason

    def put(self, call_id: str, from_tag: str, status: int, reason: str) -> None:
        key = _key(call_id, from_tag)
        now = self.clock.now()
        self._items[key] = (now, status, reason)
        self._items.move_to_end(key)
        # Oldest first (every put moves its key to the end): expired entries leave here even
        # when no INVITE asks for them again, and the capacity bounds a burst within the TTL.
        while self._items and (len(self._items) > self.capacity
                               or now - next(iter(self._items.values()))[0] >= self.ttl):
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def _key(call_id: str, from_tag: str) -> bytes:
    """A fixed-size key: a Call-ID may be as long as a message, and 5000 of them are kept."""
    return hashlib.blake2b(f"{len(call_id)}:{call_id}{from_tag}".encode("utf-8", "surrogateescape"),
                           digest_size=16).digest()
