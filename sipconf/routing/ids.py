"""LiveKit's generated ids (docs/livekit.md#ids): prefix + 12 characters of a fixed alphabet."""

from __future__ import annotations

import random
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
TRUNK, DISPATCH_RULE, CALL, TRANSFER, PARTICIPANT, ROOM = "ST_", "SDR_", "SCL_", "STR_", "PA_", "RM_"


def random_suffix(rng: random.Random | None = None) -> str:
    """12 characters from LiveKit's alphabet; `rng` makes it reproducible in tests."""
    if rng is None:
        return _urandom_suffix()
    return "".join(rng.choice(ALPHABET) for _ in range(12))


# Rejection sampling keeps the choice uniform: only bytes below the largest multiple of 57.
_LIMIT = 256 - 256 % len(ALPHABET)


# byte -> its character, in C (bytes.translate): the bytes at or above _LIMIT are deleted.
_TO_ALPHABET = bytes(ord(ALPHABET[b % len(ALPHABET)]) if b < _LIMIT else 0 for b in range(256))
_REJECTED = bytes(range(_LIMIT, 256))


def _urandom_suffix() -> str:
    """12 uniform characters from the system's random bytes."""
    out = b""
    while len(out) < 12:
        out += random_bytes(16).translate(_TO_ALPHABET, _REJECTED)
    return out[:12].decode("ascii")


_POOL_SIZE = 4096
_pool = b""
_taken = 0


def random_bytes(n: int) -> bytes:
    """`n` bytes of the system's randomness (`secrets`), read ahead 4 KiB at a time: the bridge
    draws several ids, tags and an SSRC for every call, and a getrandom() system call for each
    cost more than the rest of the draw. Each byte is handed out once."""
    global _pool, _taken
    if _taken + n > len(_pool):
        _pool, _taken = secrets.token_bytes(max(_POOL_SIZE, n)), 0
    out = _pool[_taken:_taken + n]
    _taken += n
    return out


def new_id(prefix: str, rng: random.Random | None = None) -> str:
    return prefix + random_suffix(rng)
