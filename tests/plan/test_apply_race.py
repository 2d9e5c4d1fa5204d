"""Two applies that start at once against the embedded control plane, each with its own local
lock directory (so only the server-held lock, or nothing, keeps them apart): they end with
one ledger, or a later apply repairs it by itself; nothing is duplicated and the project is
never wedged. The real livekit-api client throughout."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from sipconf.errors import UserError
from sipconf.livekit.adapter import LiveKitAdapter, LockHeld
from sipconf.livekit.ledger import is_ledger, ledger_name
from sipconf.model.kinds import OUTBOUND
from sipconf.plan.inventory import classify
from sipconf.plan.lock import lock_owner, stale
from sipconf.plan.workflow import apply_against, plan_against
from sipconf.spec import loads
from tests.plan.scale import PASSWORD, PASSWORD_ENV, numbers_for_objects, object_count, scale_spec

ENV = {PASSWORD_ENV: PASSWORD}
NUMBERS = numbers_for_objects(30)
SPEC = loads(scale_spec(NUMBERS), "scale.yaml")


class NoServerLock(LiveKitAdapter):
    """A target without a server-held lock, as LiveKit Cloud: only the local lock is left."""

    async def acquire_lock(self, owner, ttl_seconds):
        return False


class BothCreateTheLedger(NoServerLock):
    """...and the two applies reach the creation of the project's first ledger together."""

    barrier: asyncio.Barrier

    async def create(self, kind, msg):
        if kind == OUTBOUND and is_ledger(msg):
            await self.barrier.wait()
        return await super().create(kind, msg)


async def converged(target) -> None:
    """A later apply leaves one ledger, every object once, and nothing to plan."""
    result = await apply_against(SPEC, target, environ=ENV, lock_dir=None)
    assert result.remaining is None or result.remaining.empty
    assert (await plan_against(SPEC, target, environ=ENV)).empty
    async with LiveKitAdapter(target) as lk:
        live = await lk.fetch()
    ledgers = [t for t in live.outbound if t.name == ledger_name("scale")]
    assert len(ledgers) == 1
    names = [t.name for t in live.inbound] + [r.name for r in live.rules]
    assert len(names) == len(set(names)) == object_count(NUMBERS)
    assert all(o.owned for o in classify(live, "scale").objects)


def both(target, tmp_path, factory=LiveKitAdapter):
    return asyncio.gather(
        *(apply_against(SPEC, target, environ=ENV, lock_dir=str(tmp_path / f"locks-{n}"), adapter_factory=factory) for n in (1, 2)),
        return_exceptions=True,
    )


def test_two_applies_at_once_one_takes_the_server_lock_and_the_other_is_refused(serve, tmp_path):
    async def scenario(cp, target):
        first, second = await both(target, tmp_path)
        outcomes = sorted(type(r).__name__ for r in (first, second))
        assert outcomes == ["ApplyResult", "LockHeld"], (first, second)
        refused = first if isinstance(first, LockHeld) else second
        assert len(refused.lines) == 1
        assert refused.lines[0].startswith(f"another apply is running against {target.url}: apply lock is held by ")
        await converged(target)

    serve(scenario)


def test_two_applies_that_create_the_first_ledger_together_stop_before_any_change(serve, tmp_path):
    async def scenario(cp, target):
        BothCreateTheLedger.barrier = asyncio.Barrier(2)
        results = await both(target, tmp_path, BothCreateTheLedger)
        for result in results:
            assert isinstance(result, UserError), result
            assert len(result.lines) == 1 and result.lines[0].startswith(
                "another sipconf apply wrote the ledger of project 'scale' while this one ran"
            )
            assert "this one stopped after 0 of" in result.lines[0]
        async with LiveKitAdapter(target) as lk:
            live = await lk.fetch()
        assert live.inbound == () and live.rules == ()  # nothing else was changed
        assert len([t for t in live.outbound if t.name == ledger_name("scale")]) == 1
        await converged(target)

    serve(scenario)


def test_two_applies_without_a_server_lock_never_wedge_the_project(serve, tmp_path):
    """However the two interleave (one may finish, one may stop, both may stop), a later
    apply converges with one ledger and nothing duplicated."""

    async def scenario(cp, target):
        for result in await both(target, tmp_path, NoServerLock):
            assert result.__class__.__name__ in ("ApplyResult", "UserError"), result
            if isinstance(result, UserError):
                assert len(result.lines) == 1
        await converged(target)

    serve(scenario)


def test_a_lock_left_by_a_killed_apply_of_this_host_is_taken_over(serve, tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_owner = lock_owner().split(" pid ")[0] + f" pid {gone.stdout.strip()} apply 0badf00d"
    assert stale(dead_owner)
    assert not stale(lock_owner())  # this process runs
    assert not stale("someone@elsewhere pid 1 apply 12345678")

    async def scenario(cp, target):
        cp.lock.acquire(dead_owner, 600)
        result = await apply_against(SPEC, target, environ=ENV, lock_dir=str(tmp_path / "locks"))
        assert result.remaining.empty
        assert cp.lock.current() is None  # released at the end, as usual
        # A live holder is refused, with one line naming it.
        cp.lock.acquire("someone@elsewhere pid 1 apply 12345678", 600)
        with pytest.raises(LockHeld) as err:
            await apply_against(SPEC, target, environ=ENV, lock_dir=str(tmp_path / "locks"))
        assert err.value.lines == (
            f'another apply is running against {target.url}: apply lock is held by "someone@elsewhere pid 1 apply 12345678" for another 600s',
        )

    serve(scenario)
