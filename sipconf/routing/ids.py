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


def _urandom_suffix() -> str:
    """12 uniform characters from one system-random read (one per character costs a syscall each)."""
    out: list[str] = []
    while len(out) < 12:
        out.extend(ALPHABET[b % len(ALPHABET)] for b in secrets.token_bytes(16) if b < _LIMIT)
    return "".join(out[:12])


def new_id(prefix: str, rng: random.Random | None = None) -> str:
    return prefix + random_suffix(rng)
