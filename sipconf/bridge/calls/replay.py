"""The rejected-INVITE replay cache (docs/livekit.md#replay-cache).

"Final responses >= 300 marked cached are stored 1 minute (max 5000) under (SIP Call-ID,
From-tag). A later INVITE with that key gets the same status and reason at once: no 100, no
auth or dispatch call." Drops, 401/407 and 486/487 closings are never put here.
"""

from __future__ import annotations

from collections import OrderedDict

from sipconf.bridge.clock import Clock

TTL = 60.0
CAPACITY = 5000


class ReplayCache:
    def __init__(self, clock: Clock, ttl: float = TTL, capacity: int = CAPACITY) -> None:
        self.clock = clock
        self.ttl = ttl
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], tuple[float, int, str]] = OrderedDict()

    def get(self, call_id: str, from_tag: str) -> tuple[int, str] | None:
        item = self._items.get((call_id, from_tag))
        if item is None:
            return None
        stored, status, reason = item
        if self.clock.now() - stored >= self.ttl:
            del self._items[(call_id, from_tag)]
            return None
        return status, reason

    def put(self, call_id: str, from_tag: str, status: int, reason: str) -> None:
        key = (call_id, from_tag)
        self._items[key] = (self.clock.now(), status, reason)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
