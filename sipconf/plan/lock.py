"""Apply locking: two applies against one target must not interleave.

Two layers, both always taken:
- a local lock file per target URL (`flock`, released by the kernel even on `kill -9`), which
  serialises applies on one machine that share a lock directory — and is all there is against
  LiveKit Cloud or a self-hosted server (CI runners add a concurrency group, docs/ci.md);
- the embedded control plane's server-held lock (`sipconf.Local/AcquireLock`), when the target
  offers it. Its owner is `user@host pid N apply T`: two applies never share an owner, even in
  one process or with two lock directories, so the second is refused. When the holder is a
  process of this user on this host that no longer runs (a `kill -9`), a rerun releases the
  lock in its name and takes it, instead of waiting for its TTL.

Either lock held by someone else fails the apply at once, unless `--lock-timeout` asks it to
wait (`LockWait`): it says once who holds the lock, retries every `poll` seconds, and gives up
with one line when the timeout (counted over both locks) has passed.
"""

from __future__ import annotations

import asyncio
import fcntl
import getpass
import hashlib
import os
import re
import secrets
import socket
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Protocol, TypeVar

from sipconf.livekit.adapter import LockHeld

LOCK_TTL_SECONDS = 600.0
DEFAULT_POLL_SECONDS = 1.0
__all__ = ["LockHeld", "LockWait", "LocalLock", "apply_lock", "lock_owner", "lock_path"]
T = TypeVar("T")


@dataclass(frozen=True)
class LockWait:
    """How long an apply waits for a lock someone else holds (`--lock-timeout`); 0: not at all.
    The clock and the sleep are injected so that tests wait for no real time."""

    timeout: float = 0.0
    poll: float = DEFAULT_POLL_SECONDS
    say: Callable[[str], None] = lambda line: None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)


NO_WAIT = LockWait()


class LockingTarget(Protocol):
    async def acquire_lock(self, owner: str, ttl_seconds: float) -> bool: ...
    async def release_lock(self, owner: str) -> bool: ...


def lock_owner() -> str:
    """Who holds the server lock: this user and host, this process, and this apply."""
    return f"{_user_at_host()} pid {os.getpid()} apply {secrets.token_hex(4)}"


def _user_at_host() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def stale(holder: str) -> bool:
    """Whether `holder` (a lock owner) is an apply of this user on this host whose process is
    gone. An owner written before owners named their process (`user@host` alone) counts as
    stale too, as it did then."""
    here = _user_at_host()
    if holder == here:
        return True
    match = re.fullmatch(re.escape(here) + r" pid (\d+) apply \w+", holder)
    if match is None:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's process with that pid): not ours to judge
    return False


def lock_path(url: str, lock_dir: str | None = None) -> Path:
    base = Path(lock_dir or os.environ.get("SIPCONF_LOCK_DIR") or tempfile.gettempdir())
    return base / f"sipconf-apply-{hashlib.sha256(url.encode()).hexdigest()[:16]}.lock"


class LocalLock:
    """A non-blocking `flock` on a file named after the target URL."""

    def __init__(self, url: str, lock_dir: str | None = None) -> None:
        self.url = url
        self.path = lock_path(url, lock_dir)
        self._fd: int | None = None

    def __enter__(self) -> LocalLock:
        self.take()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def take(self) -> None:
        """Hold the lock, or raise LockHeld naming the process that does."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise LockHeld(
                f"another sipconf apply against {self.url} is running on this machine ({holder}); "
                f"wait for it to finish (lock file {self.path})",
                holder=f"{holder} on this machine (lock file {self.path})",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@asynccontextmanager
async def apply_lock(
    target: LockingTarget, url: str, *, lock_dir: str | None = None, wait: LockWait = NO_WAIT
) -> AsyncIterator[None]:
    owner = lock_owner()
    waiting = _Waiting(wait, url)
    local = LocalLock(url, lock_dir)

    async def take_local() -> None:
        local.take()

    await waiting.until_taken(take_local)
    try:
        held_by_server = await waiting.until_taken(lambda: _acquire(target, owner))
        try:
            yield
        finally:
            if held_by_server:
                await target.release_lock(owner)
    finally:
        local.release()


class _Waiting:
    """Retries taking a lock while someone else holds it, within one deadline for both locks."""

    def __init__(self, wait: LockWait, url: str) -> None:
        self.wait = wait
        self.url = url
        self.deadline = wait.clock() + wait.timeout
        self._said: str | None = None

    async def until_taken(self, take: Callable[[], Awaitable[T]]) -> T:
        while True:
            try:
                return await take()
            except LockHeld as held:
                if self.wait.timeout <= 0:
                    raise
                holder = held.holder or "another apply"
                if holder != self._said:  # once per holder, not once per poll
                    self.wait.say(
                        f"Waiting up to {_duration(self.wait.timeout)} for the apply lock on {self.url}, held by {holder}"
                    )
                    self._said = holder
                left = self.deadline - self.wait.clock()
                if left <= 0:
                    raise LockHeld(
                        f"gave up waiting for the apply lock on {self.url} after {_duration(self.wait.timeout)}"
                        f" (--lock-timeout): it is still held by {holder}",
                        holder=held.holder,
                    ) from None
                await self.wait.sleep(min(self.wait.poll, left))


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


async def _acquire(target: LockingTarget, owner: str) -> bool:
    try:
        return await target.acquire_lock(owner, LOCK_TTL_SECONDS)
    except LockHeld as held:
        if not (held.holder and stale(held.holder)):
            raise
        # The holder was killed before it could let go: release in its name, then take it.
        await target.release_lock(held.holder)
        return await target.acquire_lock(owner, LOCK_TTL_SECONDS)
