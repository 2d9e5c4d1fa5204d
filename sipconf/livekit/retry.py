"""When and how long to wait before retrying a LiveKit request.

Retried: `resource_exhausted` (HTTP 429; older Twirp sent it as 403), `unavailable` (503), and
a request that did not answer within the adapter's timeout (`asyncio.TimeoutError`, which is
how a stalled server looks: the same condition as `unavailable`, seen from the client).
Everything else is final. Backoff doubles from `base` up to `cap`, with jitter drawn
from an injected RNG; the sleep is injected too, so tests never wait.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Awaitable, Callable, TypeVar

from livekit.api.twirp_client import ServerError

T = TypeVar("T")
RETRY_CODES = frozenset({"resource_exhausted", "unavailable"})
RETRY_STATUSES = frozenset({429, 503})


def retryable(err: ServerError) -> bool:
    return err.code in RETRY_CODES or err.status in RETRY_STATUSES


@dataclass
class RetryPolicy:
    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter."""
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 1
        while True:
            try:
                return await call()
            except ServerError as err:
                if not retryable(err) or attempt >= self.attempts:
                    raise
            except asyncio.TimeoutError:
                if attempt >= self.attempts:
                    raise
            await self.sleep(self.delay(attempt))
            attempt += 1
