"""Fixtures for the Locust tests: a real `sipconf up` with the spec of scenarios/load applied."""

from __future__ import annotations

import pytest

from simulator import embedded
from simulator.runner import environ_for
from simulator.scenario import load_paths

from tests.simulator.conftest import LOAD


@pytest.fixture(scope="module")
def bridge():
    """The running bridge's target (its LiveKit URL and SIP address), one per test module."""
    loaded = load_paths([LOAD])[0]
    running = embedded.start()
    try:
        running.apply(loaded.desired, environ_for(loaded, {}))
        yield running.target
    finally:
        running.stop()
