"""LiveKit's generated ids (SEMANTICS 2.7): prefix + 12 characters of a fixed alphabet."""

from __future__ import annotations

import random
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
TRUNK, DISPATCH_RULE, CALL, TRANSFER, PARTICIPANT, ROOM = "ST_", "SDR_", "SCL_", "STR_", "PA_", "RM_"


def random_suffix(rng: random.Random | None = None) -> str:
    """12 characters from LiveKit's alphabet; `rng` makes it reproducible in tests."""
    if rng is None:
        return "".join(secrets.choice(ALPHABET) for _ in range(12))
    return "".join(rng.choice(ALPHABET) for _ in range(12))


def new_id(prefix: str, rng: random.Random | None = None) -> str:
    return prefix + random_suffix(rng)
