"""`--lock-timeout`: an apply waits for a lock another apply holds (the local flock and the
control plane's lock), says once who holds it, and gives up with one line when the time is up.
The real livekit-api client against the embedded control plane; the clock and the sleep are
injected, so no test waits for real time."""

from __future__ import annotations

import os

import pytest

from sipconf.livekit.adapter import LiveKitAdapter, LockHeld
from sipconf.plan.lock import LocalLock, LockWait
from sipconf.plan.workflow import apply_against
from tests.plan.test_apply_race import ENV, SPEC

OTHER = "someone@elsewhere pid 1 apply 12345678"


class FakeTime:
    """A clock that only the injected sleep moves; `on_sleep` runs at each poll."""

    def __init__(self, on_sleep=lambda n: None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.said: list[str] = []
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.sleeps))

    def wait(self, timeout: float, poll: float = 1.0) -> LockWait:
        return LockWait(timeout, poll=poll, say=self.said.append, clock=self.clock, sleep=self.sleep)


async def _live_names(target) -> list[str]:
    async with LiveKitAdapter(target) as lk:
        live = await lk.fetch()
    return [t.name for t in live.inbound] + [r.name for r in live.rules]


def test_an_apply_waits_for_the_server_lock_and_goes_on_once_it_is_released(serve, tmp_path):
    async def scenario(cp, target):
        cp.lock.acquire(OTHER, 600)
        time = FakeTime(on_sleep=lambda n: n == 3 and cp.lock.release(OTHER))
        result = await apply_against(SPEC, target, environ=ENV, lock_dir=str(tmp_path / "locks"), lock_wait=time.wait(30))
        assert result.remaining.empty
        assert time.sleeps == [1.0, 1.0, 1.0]
        assert time.said == [f'Waiting up to 30s for the apply lock on {target.url}, held by {OTHER}']
        assert cp.lock.current() is None

    serve(scenario)


def test_an_apply_gives_up_when_the_server_lock_is_held_past_the_timeout_and_changes_nothing(serve, tmp_path):
    async def scenario(cp, target):
        cp.lock.acquire(OTHER, 6000)
        time = FakeTime()
        with pytest.raises(LockHeld) as err:
            await apply_against(SPEC, target, environ=ENV, lock_dir=str(tmp_path / "locks"), lock_wait=time.wait(120, poll=50))
        assert err.value.lines == (
            f"gave up waiting for the apply lock on {target.url} after 2m (--lock-timeout): it is still held by {OTHER}",
        )
        assert time.sleeps == [50, 50, 20]  # the last poll stops at the deadline
        assert await _live_names(target) == []
        assert cp.lock.current().owner == OTHER

    serve(scenario)


def test_an_apply_waits_for_the_local_lock_of_another_apply_on_this_machine(serve, tmp_path):
    locks = str(tmp_path / "locks")

    async def scenario(cp, target):
        other = LocalLock(target.url, locks)
        other.take()  # another open file: the kernel refuses this apply's flock as it would another process's
        time = FakeTime(on_sleep=lambda n: n == 2 and other.release())
        result = await apply_against(SPEC, target, environ=ENV, lock_dir=locks, lock_wait=time.wait(10))
        assert result.remaining.empty
        assert time.said == [
            f"Waiting up to 10s for the apply lock on {target.url}, held by pid {os.getpid()} on this machine"
            f" (lock file {other.path})"
        ]

    serve(scenario)


def test_the_timeout_covers_both_locks_and_without_one_the_apply_fails_at_once(serve, tmp_path):
    locks = str(tmp_path / "locks")

    async def scenario(cp, target):
        other = LocalLock(target.url, locks)
        other.take()
        cp.lock.acquire(OTHER, 600)
        # The local lock is let go after 4s, the server's never: 4s of the 5s are spent on the first.
        time = FakeTime(on_sleep=lambda n: n == 4 and other.release())
        with pytest.raises(LockHeld) as err:
            await apply_against(SPEC, target, environ=ENV, lock_dir=locks, lock_wait=time.wait(5))
        assert err.value.lines[0].startswith(f"gave up waiting for the apply lock on {target.url} after 5s")
        assert time.sleeps == [1.0] * 5 and len(time.said) == 2
        # The local lock it took meanwhile was let go: another apply may take it.
        LocalLock(target.url, locks).take()
        with pytest.raises(LockHeld) as err:
            await apply_against(SPEC, target, environ=ENV, lock_dir=str(tmp_path / "other-locks"), lock_wait=FakeTime().wait(0))
        assert err.value.lines[0].startswith(f"another apply is running against {target.url}: apply lock is held by ")

    serve(scenario)

