"""Shared fixtures. The caller's LiveKit credentials never reach a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

for _name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
    os.environ.pop(_name, None)


@pytest.fixture
def public_vectors() -> Path:
    """LiveKit's test vectors, as copied into the repository (tests/data/README.md)."""
    return DATA / "livekit-vectors.json"
