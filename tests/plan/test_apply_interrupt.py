"""Stopping an apply that sends several requests at a time, in process against the embedded
control plane: Ctrl-C (an `Interruption`) at a given change, a request that fails among
others in flight. Whatever was applied is reported, nothing more, and a re-apply converges."""

from __future__ import annotations

import pytest

from sipconf.errors import UserError
from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.plan.engine import ApplyInterrupted, Interruption, summary
from sipconf.plan.inventory import classify
from sipconf.plan.workflow import apply_against
from sipconf.spec import loads
from tests.plan.scale import PASSWORD, PASSWORD_ENV, numbers_for_objects, object_count, scale_spec

ENV = {PASSWORD_ENV: PASSWORD}
NUMBERS = numbers_for_objects(90, per_trunk=2)
SPEC = loads(scale_spec(NUMBERS, per_trunk=2), "scale.yaml")
TOTAL = object_count(NUMBERS, per_trunk=2)


async def live_objects(target) -> list[tuple[str, str]]:
    async with LiveKitAdapter(target) as lk:
        inventory = classify(await lk.fetch(), "scale")
    return [(o.kind, o.name) for o in inventory.objects]


async def converges(target) -> None:
    result = await apply_against(SPEC, target, environ=ENV)
    assert result.remaining is None or result.remaining.empty
    names = await live_objects(target)
    assert len(names) == len(set(names)) == TOTAL


@pytest.mark.parametrize("at", [1, TOTAL // 2, TOTAL - 2])
def test_ctrl_c_lets_the_requests_in_flight_finish_and_reports_each(serve, at):
    async def scenario(cp, target):
        interruption = Interruption()
        lines: list[str] = []

        def progress(line: str) -> None:
            lines.append(line)
            if len(lines) == at:
                interruption.request()

        with pytest.raises(ApplyInterrupted) as stopped:
            await apply_against(SPEC, target, environ=ENV, progress=progress, parallelism=8, interruption=interruption)
        applied = stopped.value.applied
        # Those in flight when Ctrl-C came finished: at most `parallelism` more than asked.
        assert at <= applied <= at + 8 and applied == len(lines) and stopped.value.total == TOTAL
        assert str(stopped.value) == summary(applied, TOTAL)
        created = {tuple(line.split(": ")[0].split("] + ")[1].split(" ")) for line in lines}
        assert set(await live_objects(target)) == created  # every change made was reported
        await converges(target)

    serve(scenario)


def test_ctrl_c_before_the_first_write_changes_nothing(serve):
    async def scenario(cp, target):
        interruption = Interruption()

        def confirm(plan) -> bool:
            interruption.request()
            return True

        with pytest.raises(ApplyInterrupted) as stopped:
            await apply_against(SPEC, target, environ=ENV, confirm=confirm, interruption=interruption)
        assert (stopped.value.applied, stopped.value.total) == (0, TOTAL)
        assert str(stopped.value) == f"Interrupted: none of the {TOTAL} planned change(s) was applied; nothing was changed."
        async with LiveKitAdapter(target) as lk:
            live = await lk.fetch()
        assert (live.inbound, live.outbound, live.rules) == ((), (), ())
        await converges(target)

    serve(scenario)


class RefusesOneTrunk(LiveKitAdapter):
    """The real adapter, except that LiveKit refuses one trunk (as it would an invalid one)."""

    async def create(self, kind, msg):
        if msg.name == "carrier-0007":
            raise UserError(f"LiveKit at {self.target.url} refused to create inbound trunk 'carrier-0007': invalid_argument: no")
        return await super().create(kind, msg)


def test_a_failed_request_stops_the_apply_after_those_in_flight_and_a_rerun_converges(serve):
    async def scenario(cp, target):
        lines: list[str] = []
        with pytest.raises(UserError) as err:
            await apply_against(SPEC, target, environ=ENV, progress=lines.append, adapter_factory=RefusesOneTrunk)
        assert err.value.lines == (
            f"LiveKit at {target.url} refused to create inbound trunk 'carrier-0007': invalid_argument: no",
        )
        assert 0 < len(lines) < TOTAL and not any("dispatch_rule" in line for line in lines)
        assert len(await live_objects(target)) == len(lines)
        await converges(target)

    serve(scenario)


def test_summary_lines():
    assert summary(0, None) == "Interrupted before the plan was made: nothing was changed."
    assert summary(3, 10) == "Interrupted: applied 3 of 10 change(s); 7 not applied. Run `sipconf apply` again to finish."
    assert summary(10, 10) == "Interrupted after all 10 change(s) were applied; the read-back was skipped."
