"""Back-off for digest guessing: a source that keeps answering challenges wrong is refused
for a while with `503 Service Unavailable` + `Retry-After` (RFC 3261 21.5.4, 20.33).

Failures are counted per key, (source IP, username) by default: a caller elsewhere, or the
same source with another trunk's username, is not slowed down. A source in
`trusted_proxies` (a carrier's or an SBC's addresses) forwards every caller's calls from
the same few addresses, so its calls are keyed by username alone.

After `failures` failures within `window` seconds the key is refused for `first` seconds;
each later back-off lasts twice the one before, up to `longest`. A success forgets the key;
so does `longest` seconds without a failure, after which the doubling starts over. While a
key is refused its answers are not checked at all, so a guess made then tells nothing.
LiveKit has no such refusal (README, "Deliberate deviations").
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from sipconf.bridge.addresses import TrustedProxies
from sipconf.bridge.clock import Clock

__all__ = ["Backoff", "BackoffCounters", "BackoffPolicy", "BACKED_OFF"]

BACKED_OFF = (503, "Service Unavailable")
MAX_KEYS = 65536  # keys remembered; the least recently failed is forgotten first

Key = tuple[str | None, str]  # (source IP, or None behind a trusted proxy; username)


@dataclass(frozen=True)
class BackoffPolicy:
    failures: int = 10  # failures within `window` that start a back-off; 0 = never back off
    window: float = 60.0  # seconds
    first: float = 30.0  # seconds of the first back-off
    longest: float = 900.0  # seconds: the doubling stops here (15 min)

    def __post_init__(self) -> None:
        if self.failures < 0:
            raise ValueError(f"back-off failures {self.failures}: expected a number >= 0 (0 = off)")
        for name in ("window", "first", "longest"):
            if getattr(self, name) <= 0:
                raise ValueError(f"back-off {name} {getattr(self, name):g}: expected a number of seconds > 0")
        if self.longest < self.first:
            raise ValueError(f"back-off longest {self.longest:g} s is shorter than the first back-off {self.first:g} s")

    @property
    def enabled(self) -> bool:
        return self.failures > 0


@dataclass
class BackoffCounters:
    """For metrics: failures counted, back-offs started, answers refused during one."""

    failures: int = 0
    backoffs: int = 0
    refused: int = 0


@dataclass
class _Entry:
    recent: deque[float] = field(default_factory=deque)  # failure times within the window
    until: float = 0.0  # refused before this time
    level: int = 0  # back-offs so far: the next lasts first * 2**level
    last_failure: float = 0.0



class Backoff:
    """`retry_after(source_ip, username)` -> seconds to wait, or None; `failed(...)` and
    `succeeded(...)` after an answer was checked."""

    def __init__(self, clock: Clock, policy: BackoffPolicy | None = None,
                 trusted_proxies: TrustedProxies | Iterable[str] = (), capacity: int = MAX_KEYS) -> None:
        self.clock = clock
        self.policy = policy or BackoffPolicy()
        self.trusted_proxies = (trusted_proxies if isinstance(trusted_proxies, TrustedProxies)
                                else TrustedProxies.parse(trusted_proxies))
        self.capacity = capacity
        self.counters = BackoffCounters()
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        # With call workers, every answer checked is told to the other processes, which
        # `apply` it: each keeps the same table, counted over all of them.
        self.on_event: Callable[[bool, str, str], None] | None = None  # (succeeded, source IP, username)

    def key(self, source_ip: str, username: str) -> Key:
        return (None if source_ip in self.trusted_proxies else source_ip, username)

    def retry_after(self, source_ip: str, username: str) -> int | None:
        """Whole seconds until the key may answer again (for `Retry-After`), or None now."""
        entry = self._entries.get(self.key(source_ip, username))
        if entry is None:
            return None
        remaining = entry.until - self.clock.now()
        if remaining <= 0:
            return None
        self.counters.refused += 1
        return max(1, math.ceil(remaining))

    def failed(self, source_ip: str, username: str) -> None:
        if self.on_event is not None:
            self.on_event(False, source_ip, username)
        self._failed(source_ip, username, counted=True)

    def apply(self, succeeded: bool, source_ip: str, username: str) -> None:
        """An answer another process checked: the same change to the table, not counted here."""
        if succeeded:
            self._entries.pop(self.key(source_ip, username), None)
        else:
            self._failed(source_ip, username, counted=False)

    def _failed(self, source_ip: str, username: str, counted: bool) -> None:
        if not self.policy.enabled:
            return
        if counted:
            self.counters.failures += 1
        now = self.clock.now()
        key = self.key(source_ip, username)
        entry = self._entries.pop(key, None) or _Entry()
        self._entries[key] = entry  # the most recently failed last
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        if entry.level and now - max(entry.last_failure, entry.until) >= self.policy.longest:
            entry.level = 0  # quiet long enough: start over
        entry.last_failure = now
        while entry.recent and now - entry.recent[0] >= self.policy.window:
            entry.recent.popleft()
        entry.recent.append(now)
        if len(entry.recent) >= self.policy.failures:
            duration = min(self.policy.first * 2 ** entry.level, self.policy.longest)
            entry.until = now + duration
            if duration < self.policy.longest:
                entry.level += 1
            entry.recent.clear()
            if counted:
                self.counters.backoffs += 1

    def succeeded(self, source_ip: str, username: str) -> None:
        if self.on_event is not None:
            self.on_event(True, source_ip, username)
        self._entries.pop(self.key(source_ip, username), None)

    @property
    def active(self) -> int:
        """Keys refused right now."""
        now = self.clock.now()
        return sum(1 for entry in self._entries.values() if entry.until > now)

    def __len__(self) -> int:
        return len(self._entries)
