"""The worker's asyncio loop in a real OS thread, handed coroutines by gevent greenlets: in
a process gevent has patched (as Locust's is), and in this unpatched one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import gevent

from simulator.locust.loop_thread import LoopThread

PATCHED = Path(__file__).with_name("patched_loop.py")


def test_greenlets_hand_calls_to_a_real_thread_in_a_patched_process():
    done = subprocess.run([sys.executable, "-W", "error", str(PATCHED)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {
        "threading_patched": True,
        "selector": "selectors.EpollSelector",  # the unpatched one, not gevent's
        "values": list(range(50)),  # every call finished, while the hub kept running
        "threads": [True],  # all on the loop's own OS thread
        "error": "ValueError: the coroutine's own error",
        "timeout": "Timeout: 0.2 seconds",
        "cancelled": 1,  # the timed-out coroutine was cancelled on the loop
        "closed": True,
    }
    assert done.stderr == ""


def test_values_errors_and_close_without_patching():
    loops = LoopThread()

    async def where(i: int) -> tuple[int, int]:
        await asyncio.sleep(0)
        return i, threading.get_ident()

    async def fails() -> None:
        raise KeyError("missing")

    try:
        waiting = [gevent.spawn(loops.run, where(i), 30) for i in range(10)]
        gevent.joinall(waiting, timeout=60)
        assert [g.value[0] for g in waiting] == list(range(10))
        assert {g.value[1] for g in waiting} == {loops.thread_id} != {threading.get_ident()}
        failing = gevent.spawn(loops.run, fails(), 30)
        failing.join(timeout=60)
        assert repr(failing.exception) == "KeyError('missing')"
    finally:
        loops.close()
    assert loops.loop.is_closed()
    loops.close()  # a second close does nothing
