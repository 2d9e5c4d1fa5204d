"""Fixtures for the simulator tests: a throwaway suite folder next to a copy of the demo spec."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo"


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    """A folder holding a copy of the demo spec (so scenario files there find it)."""
    shutil.copy(DEMO / "spec.yaml", tmp_path / "spec.yaml")
    return tmp_path
