"""A real embedded control plane on 127.0.0.1:0 for apply tests, driven through `asyncio.run`."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import pytest

from sipconf.livekit.target import Target
from sipconf.local.server import ControlPlane

KEY = "plankey"
SECRET = "plan-test-secret-long-enough-for-hs256-0123456"


@pytest.fixture
def lock_dir(tmp_path, monkeypatch):
    path = tmp_path / "locks"
    monkeypatch.setenv("SIPCONF_LOCK_DIR", str(path))
    return path


@pytest.fixture
def serve(tmp_path, lock_dir) -> Callable:
    """`serve(scenario)` runs `async def scenario(cp, target)` against a fresh control plane."""

    def run(scenario: Callable[[ControlPlane, Target], Awaitable[None]]) -> None:
        async def main() -> None:
            async with ControlPlane(state_path=tmp_path / "state.db", api_key=KEY, api_secret=SECRET) as cp:
                await scenario(cp, Target(cp.url, KEY, SECRET))

        asyncio.run(main())

    return run
