"""Fixtures for the control plane: a real server on 127.0.0.1:0 and the real client.

pytest-asyncio is not a dependency, so each test runs its scenario with `asyncio.run`
through the `serve` fixture: `serve(scenario)` where `async def scenario(cp, lk)`.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import pytest
from livekit import api

from sipconf.local.server import ControlPlane

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "state.db"


@pytest.fixture
def serve(state_path) -> Callable:
    def run(scenario: Callable[[ControlPlane, api.LiveKitAPI], Awaitable[None]], **kwargs) -> None:
        async def main() -> None:
            async with ControlPlane(state_path=state_path, api_key=KEY, api_secret=SECRET, **kwargs) as cp:
                async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                    await scenario(cp, lk)

        asyncio.run(main())

    return run
