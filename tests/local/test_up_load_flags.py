"""`sipconf up`'s load flags: the event loop it runs on and the INVITE queue age it sheds at."""

from __future__ import annotations

import argparse
import asyncio
import gc
from pathlib import Path

import pytest
import uvloop

from sipconf.commands import up
from tests.local.up_process import run_up


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    up.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_defaults() -> None:
    args = parsed()
    assert (args.event_loop, args.max_queue_ms) == ("auto", 200)


async def _loop_kind() -> str:
    loop = asyncio.get_running_loop()
    return "uvloop" if isinstance(loop, uvloop.Loop) else type(loop).__module__


@pytest.mark.parametrize(("choice", "kind"), [("auto", "uvloop"), ("uvloop", "uvloop"),
                                              ("asyncio", "asyncio.unix_events")])
def test_the_event_loop_is_uvloop_unless_asyncio_is_asked_for(choice: str, kind: str) -> None:
    assert up.run_on_loop(_loop_kind(), choice) == kind


def test_the_queue_age_reaches_the_bridge(tmp_path: Path) -> None:
    opts = up.UpOptions(http=("127.0.0.1", 0), sip=("127.0.0.1", 0), state=tmp_path / "s.db", mode="explicit",
                        max_queue_age=parsed("--max-queue-ms", "40").max_queue_ms / 1000)

    async def main():
        services = await up.start_services(opts)
        try:
            assert services.bridge.admission.limits.max_queue_age == 0.04
        finally:
            await services.stop()

    asyncio.run(main())


def test_a_bad_queue_age_is_one_line(tmp_path: Path) -> None:
    proc = run_up(tmp_path / "s.db", "--max-queue-ms", "-1")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["--max-queue-ms -1.0: expected a number of milliseconds >= 0"]


def test_the_collector_is_tuned_and_the_routing_index_frozen_once_built(tmp_path: Path) -> None:
    opts = up.UpOptions(http=("127.0.0.1", 0), sip=("127.0.0.1", 0), state=tmp_path / "s.db", mode="explicit")
    thresholds = gc.get_threshold()

    async def main():
        services = await up.start_services(opts)
        try:
            up.tune_gc(services.bridge)
            assert gc.get_threshold() == up.GC_THRESHOLDS
            assert services.bridge._index is not None and gc.get_freeze_count() > 0  # built, then frozen
            frozen = gc.get_freeze_count()
            services.bridge._index = None  # as a change of trunks or rules leaves it
            services.bridge.warm()
            assert gc.get_freeze_count() >= frozen  # the new index joined the frozen objects
        finally:
            await services.stop()

    try:
        asyncio.run(main())
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@pytest.mark.parametrize(("argv", "error"), [
    (["--workers", "0"], "--workers 0: expected a number of processes >= 1"),
    (["--workers", "2", "--udp-front", "off"],
     "--workers 2: call workers get their datagrams from the UDP front; drop --udp-front off"),
])
def test_a_bad_worker_count_is_one_line(tmp_path: Path, argv: list[str], error: str) -> None:
    proc = run_up(tmp_path / "s.db", *argv)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [error]


def test_max_calls_is_split_over_the_processes(tmp_path: Path) -> None:
    """Each process admits its share of `--max-calls`, rounded up (the workers get the same
    settings as the main process)."""
    opts = up.UpOptions(http=("127.0.0.1", 0), sip=("127.0.0.1", 0), state=tmp_path / "s.db", mode="explicit",
                        max_calls=5, workers=2)
    assert up.bridge_settings(opts)["max_calls"] == 3
