"""Apply locking: two applies against one target must not interleave.

Two layers, both always taken:
- a local lock file per target URL (`flock`, released by the kernel even on `kill -9`), which
  serialises applies on one machine — and is all there is against LiveKit Cloud or a
  self-hosted server (CI runners add a concurrency group, docs/ci.md);
- the embedded control plane's server-held lock (`sipconf.Local/AcquireLock`), when the target
  offers it. Its owner is `user@host`, so a rerun on the same machine after a `kill -9` takes
  the lock over instead of waiting for its TTL; the local flock already excludes a concurrent
  apply from that machine.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import os
import socket
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Protocol

from sipconf.livekit.adapter import LockHeld

LOCK_TTL_SECONDS = 600.0
__all__ = ["LockHeld", "LocalLock", "apply_lock", "lock_owner", "lock_path"]


class LockingTarget(Protocol):
    async def acquire_lock(self, owner: str, ttl_seconds: float) -> bool: ...
    async def release_lock(self, owner: str) -> None: ...


def lock_owner() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise LockHeld(
                f"another sipconf apply against {self.url} is running on this machine ({holder}); "
                f"wait for it to finish (lock file {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@asynccontextmanager
async def apply_lock(target: LockingTarget, url: str, *, lock_dir: str | None = None) -> AsyncIterator[None]:
    owner = lock_owner()
    with LocalLock(url, lock_dir):
        held_by_server = await target.acquire_lock(owner, LOCK_TTL_SECONDS)
        try:
            yield
        finally:
            if held_by_server:
                await target.release_lock(owner)
