"""Apply random spec A, then random spec B: live equals B and a re-plan is empty."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies

from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.target import Target
from sipconf.local.server import ControlPlane
from sipconf.plan.inventory import classify
from sipconf.plan.workflow import apply_against, plan_against
from tests.plan.conftest import KEY, SECRET
from tests.plan.helpers import inbound, rule, state

TRUNKS = ["alpha", "beta", "gamma"]
RULES = ["r1", "r2", "r3", "r4"]


@strategies.composite
def specs(draw):
    trunk_names = draw(strategies.lists(strategies.sampled_from(TRUNKS), unique=True, max_size=3))
    objects, used = [], set()
    for name in trunk_names:
        # Numbers may move between trunks from A to B (the engine reorders those writes); a
        # swap of numbers between two trunks is the one case no order can do, so each trunk
        # draws from its own pool plus one number shared with the next trunk only one way.
        i = TRUNKS.index(name)
        pool = [f"+1510555{i}0{j}" for j in range(3)] + ([f"+1510555{i + 1}00"] if i + 1 < len(TRUNKS) else [])
        numbers = [n for n in draw(strategies.lists(strategies.sampled_from(pool), unique=True, min_size=1, max_size=2)) if n not in used]
        numbers = numbers or [f"+1510555{i}09"]
        used.update(numbers)
        password = draw(strategies.one_of(strategies.none(), strategies.sampled_from(["p1", "p2"])))
        objects.append(inbound(name, numbers, password=password))
    for k, name in enumerate(draw(strategies.lists(strategies.sampled_from(RULES), unique=True, max_size=4))):
        trunks = draw(strategies.lists(strategies.sampled_from(trunk_names), unique=True)) if trunk_names else []
        pin = draw(strategies.one_of(strategies.none(), strategies.just(f"{k}{k}{k}{k}")))
        room = draw(strategies.sampled_from(["a", "b"])) + str(k)
        obj = rule(name, trunks, room=room, pin=pin)
        obj.message.numbers.append(f"+1415555000{k}")  # distinct numbers: no LiveKit rule conflicts
        objects.append(obj)
    return state(*objects)


def names(desired):
    return sorted((o.kind, o.name) for o in desired.objects())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=specs(), b=specs())
def test_apply_a_then_b_leaves_b_and_an_empty_plan(a, b):
    async def main(tmp: Path) -> None:
        async with ControlPlane(state_path=tmp / "state.db", api_key=KEY, api_secret=SECRET) as cp:
            target = Target(cp.url, KEY, SECRET)
            await apply_against(a, target, force=True, lock_dir=str(tmp))
            await apply_against(b, target, force=True, lock_dir=str(tmp))
            async with LiveKitAdapter(target) as lk:
                inventory = classify(await lk.fetch(), "acme")
            assert sorted((o.kind, o.name) for o in inventory.objects) == names(b)
            assert all(o.owned for o in inventory.objects)
            assert (await plan_against(b, target)).empty

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))


def test_rules_that_swap_numbers_converge_in_one_apply():
    """Every order of two updates conflicts; the engine breaks the cycle with delete + create."""

    def swapped(first: str, second: str):
        r1, r2 = rule("r1", [], room="a"), rule("r2", [], room="b")
        r1.message.numbers.append(first)
        r2.message.numbers.append(second)
        return state(r1, r2)

    a, b = swapped("+14155550001", "+14155550002"), swapped("+14155550002", "+14155550001")
    lines: list[str] = []

    async def main(tmp: Path) -> None:
        async with ControlPlane(state_path=tmp / "state.db", api_key=KEY, api_secret=SECRET) as cp:
            target = Target(cp.url, KEY, SECRET)
            await apply_against(a, target, force=True, lock_dir=str(tmp))
            await apply_against(b, target, force=True, lock_dir=str(tmp), progress=lines.append)
            assert (await plan_against(b, target)).empty
            async with LiveKitAdapter(target) as lk:
                inventory = classify(await lk.fetch(), "acme")
            assert sorted(o.name for o in inventory.objects) == ["r1", "r2"]

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
    assert any("to break a conflict cycle" in line for line in lines), lines
