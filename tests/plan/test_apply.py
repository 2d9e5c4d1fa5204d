"""plan -> apply -> plan-is-empty, drift, unmanaged objects, saved-plan checks and resumption,
all through the real livekit-api client against the embedded control plane."""

from __future__ import annotations

import pytest
from livekit.protocol import sip

from sipconf.errors import UserError
from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.ledger import ledger_name
from sipconf.plan.workflow import apply_against, plan_against
from tests.plan.helpers import inbound, rule, state


def spec_a():
    return state(
        inbound("twilio", ["+15105550100", "+15105550101"], password="s3cret"),
        rule("support", ["twilio"], room="support"),
        rule("pin-room", [], room="vip", pin="4321"),
    )


async def live_names(target):
    async with LiveKitAdapter(target) as lk:
        live = await lk.fetch()
    return (
        sorted(t.name for t in live.inbound),
        sorted(t.name for t in live.outbound),
        sorted(r.name for r in live.rules),
    )


def test_plan_apply_then_plan_is_empty_and_second_apply_does_nothing(serve):
    async def scenario(cp, target):
        first = await plan_against(spec_a(), target)
        assert [(c.action, c.name) for c in first.changes] == [
            ("create", "twilio"),
            ("create", "pin-room"),
            ("create", "support"),
        ]
        lines = []
        result = await apply_against(spec_a(), target, progress=lines.append)
        assert result.applied == 3 and result.remaining.empty
        # The trunk first; the two rules go out together, so either may finish first.
        assert [line.split(": ")[0] for line in lines][0] == "[1/3] + inbound_trunk twilio"
        assert sorted(line.split(": ")[0].split("] ")[1] for line in lines[1:]) == [
            "+ dispatch_rule pin-room",
            "+ dispatch_rule support",
        ]
        assert [line.split("]")[0] for line in lines] == ["[1/3", "[2/3", "[3/3"]
        assert (await plan_against(spec_a(), target)).empty
        again = await apply_against(spec_a(), target)
        assert again.applied == 0 and again.remaining is None
        assert await live_names(target) == (["twilio"], [ledger_name("acme")], ["pin-room", "support"])

    serve(scenario)


def test_hand_edit_shows_as_drift(serve):
    async def scenario(cp, target):
        await apply_against(spec_a(), target)
        async with LiveKitAdapter(target) as lk:
            live = await lk.fetch()
            (trunk,) = live.inbound
            trunk.numbers.append("+15105550102")
            await lk.replace("inbound_trunk", trunk.sip_trunk_id, trunk)
        plan = await plan_against(spec_a(), target)
        (change,) = plan.changes
        assert (change.action, change.name, change.drift) == ("update", "twilio", True)
        assert [(f.path, f.before, f.after) for f in change.fields if not f.sensitive] == [
            ("numbers", ["+15105550100", "+15105550101", "+15105550102"], ["+15105550100", "+15105550101"])
        ]
        # Reverting the hand edit unroutes the number it added: that needs --force.
        assert plan.force_reasons() == ["the plan unroutes 1 routed number(s): +15105550102"]
        result = await apply_against(spec_a(), target, force=True)
        assert result.remaining.empty

    serve(scenario)


def test_unmanaged_objects_are_never_touched(serve):
    async def scenario(cp, target):
        async with LiveKitAdapter(target) as lk:
            mine = await lk.create("inbound_trunk", sip.SIPInboundTrunkInfo(name="hand-made", numbers=["+15105550900"]))
        await apply_against(spec_a(), target)
        plan = await plan_against(state(), target, )
        assert {(c.action, c.name) for c in plan.changes} == {("delete", "twilio"), ("delete", "support"), ("delete", "pin-room")}
        assert [(u.name, u.live_id, u.status) for u in plan.unmanaged] == [("hand-made", mine.sip_trunk_id, "not-in-spec")]
        with pytest.raises(UserError) as err:
            await apply_against(state(), target)
        assert err.value.lines[0] == "refusing to apply without --force: the plan deletes 3 of 3 managed objects (100%, over 30%)"
        await apply_against(state(), target, force=True)
        assert await live_names(target) == (["hand-made"], [ledger_name("acme")], [])

    serve(scenario)


class Killed(Exception):
    """What the failing adapter raises in place of a `kill -9`."""


class FailingAdapter(LiveKitAdapter):
    """The real adapter that dies after `limit` writes, like a `kill -9` between two requests:
    from then on no write reaches the server."""

    limit = 0

    async def _write(self, method, what, call):
        if self.writes >= self.limit:
            raise Killed(f"killed before: {what}")
        return await super()._write(method, what, call)


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5])
def test_interrupted_apply_converges_without_duplicates(serve, limit):
    class Dies(FailingAdapter):
        pass

    Dies.limit = limit

    async def scenario(cp, target):
        with pytest.raises(Killed):
            await apply_against(spec_a(), target, adapter_factory=Dies, parallelism=1)
        result = await apply_against(spec_a(), target)
        assert result.remaining is None or result.remaining.empty
        assert (await plan_against(spec_a(), target)).empty
        assert await live_names(target) == (["twilio"], [ledger_name("acme")], ["pin-room", "support"])

    serve(scenario)


def test_number_moving_to_an_earlier_trunk_is_reordered_around_the_conflict(serve):
    async def scenario(cp, target):
        a = state(inbound("alpha", ["+15105550100"]), inbound("gamma", ["+15105550200"]))
        b = state(inbound("alpha", ["+15105550100", "+15105550200"]), inbound("gamma", ["+15105550300"]))
        await apply_against(a, target)
        lines = []
        result = await apply_against(b, target, progress=lines.append)
        assert [line.split(": ")[0] for line in lines] == ["[1/2] ~ inbound_trunk gamma", "[2/2] ~ inbound_trunk alpha"]
        assert result.remaining.empty

    serve(scenario)


def test_managed_false_objects_are_never_created_updated_or_deleted(serve):
    async def scenario(cp, target):
        async with LiveKitAdapter(target) as lk:
            mine = await lk.create("inbound_trunk", sip.SIPInboundTrunkInfo(name="hand-made", numbers=["+15105550900"]))
        await apply_against(spec_a(), target)
        async with LiveKitAdapter(target) as lk:
            before = await lk.fetch()
        # The spec now says: the owned `twilio` and the unowned `hand-made` are unmanaged and
        # differ from live, `ghost` is unmanaged and absent; the rules are gone (deleted).
        spec_b = state(
            inbound("twilio", ["+15105550177"], managed=False),
            inbound("hand-made", ["+15105550901"], managed=False),
            rule("ghost", ["twilio"], managed=False),
        )
        plan = await plan_against(spec_b, target)
        assert [(c.action, c.name) for c in plan.changes] == [("delete", "pin-room"), ("delete", "support")]
        assert [(u.name, u.status, u.live_id) for u in plan.unmanaged] == [
            ("ghost", "missing", ""),
            ("hand-made", "differs", mine.sip_trunk_id),
            ("twilio", "differs", plan.unmanaged[2].live_id),
        ]
        result = await apply_against(spec_b, target, force=True)
        assert result.applied == 2 and result.remaining.empty
        async with LiveKitAdapter(target) as lk:
            after = await lk.fetch()
        assert sorted(after.inbound, key=lambda t: t.name) == sorted(before.inbound, key=lambda t: t.name)
        assert [r.name for r in after.rules] == []
        # Unmanaged objects alone: nothing to apply, ever.
        again = await apply_against(spec_b, target)
        assert again.applied == 0 and again.remaining is None

    serve(scenario)
