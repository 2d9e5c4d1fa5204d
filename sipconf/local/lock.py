"""The apply lock the embedded control plane holds for `sipconf apply`.

Two applies against the same control plane must not interleave. The lock has an owner
(a free-form string such as `user@host pid 123`) and a TTL, so a killed apply (`kill -9`)
cannot wedge the server: once the TTL passes anyone may take it. The holder re-acquiring
extends it. The clock is injected.

Wire API (`sipconf.Local`, Twirp-like, JSON bodies only, needs the `sip.admin` grant):
- `POST /twirp/sipconf.Local/AcquireLock` `{"owner": str, "ttl_seconds": number}` ->
  200 `{"owner": str, "expires_at": unix seconds}`; held by another owner -> Twirp
  `aborted` (409) `apply lock is held by "<owner>" for another <n>s`, meta `owner`, `expires_at`.
- `POST /twirp/sipconf.Local/ReleaseLock` `{"owner": str}` -> 200 `{}`; not the holder ->
  `failed_precondition` (412) `apply lock is not held by "<owner>"`.
- `POST /twirp/sipconf.Local/GetLock` `{}` -> 200 `{"owner": str, "expires_at": number}`,
  owner `""` when free.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Callable

from sipconf.routing.errors import ABORTED, FAILED_PRECONDITION, INVALID_ARGUMENT, LiveKitError

DEFAULT_TTL_SECONDS = 600.0
MAX_TTL_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class LockState:
    owner: str
    expires_at: float

    def to_json(self) -> dict[str, object]:
        return {"owner": self.owner, "expires_at": self.expires_at}


class ApplyLock:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._held: LockState | None = None

    def current(self) -> LockState | None:
        if self._held is not None and self._held.expires_at <= self._clock():
            self._held = None
        return self._held

    def acquire(self, owner: str, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> LockState:
        if not owner:
            raise LiveKitError(INVALID_ARGUMENT, "lock owner must be set")
        if not (0 < ttl_seconds <= MAX_TTL_SECONDS):
            raise LiveKitError(INVALID_ARGUMENT, f"ttl_seconds must be in (0, {MAX_TTL_SECONDS:g}]")
        held, now = self.current(), self._clock()
        if held is not None and held.owner != owner:
            left = math.ceil(held.expires_at - now)
            raise LiveKitError(
                ABORTED,
                f"apply lock is held by {json.dumps(held.owner)} for another {left}s",
                {"owner": held.owner, "expires_at": repr(held.expires_at)},
            )
        self._held = LockState(owner, now + ttl_seconds)
        return self._held

    def release(self, owner: str) -> None:
        held = self.current()
        if held is None or held.owner != owner:
            raise LiveKitError(FAILED_PRECONDITION, f"apply lock is not held by {json.dumps(owner)}")
        self._held = None
