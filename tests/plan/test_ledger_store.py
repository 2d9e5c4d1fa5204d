"""Saving the ledger into its shard trunks on the embedded control plane, through the real
livekit-api client: a 3,000-object ledger, a save that rewrites one shard, a save killed at
every write, two ledgers left by a race, and a format 1 ledger migrated by the next apply."""

from __future__ import annotations

import json

import pytest

from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.ledger import SHARD_LIMIT, Entry, Ledger, ledger_name, ledger_shard_trunk, parse_shard, shard_metadata
from sipconf.model.kinds import INBOUND, OUTBOUND
from sipconf.plan.inventory import classify
from sipconf.plan.ledger_store import LedgerStore
from sipconf.plan.workflow import apply_against, plan_against
from tests.livekit.test_ledger import big_ledger
from tests.plan.helpers import inbound, rule, state


class Killed(Exception):
    pass


def dies_after(limit: int):
    class Dies(LiveKitAdapter):
        async def _write(self, method, what, call):
            if self.writes >= limit:
                raise Killed(what)
            return await super()._write(method, what, call)

    return Dies


async def ledger_trunks(lk, project="acme"):
    return [t for t in await lk.list_outbound() if t.name == ledger_name(project)]


def test_a_3000_object_ledger_is_stored_in_shards_and_a_small_change_rewrites_one(serve):
    ledger = big_ledger(3000)

    async def scenario(cp, target):
        async with LiveKitAdapter(target) as lk:
            await LedgerStore("acme", (), lk).save(ledger)
            trunks = await ledger_trunks(lk)
            assert len(trunks) >= 5
            assert all(len(t.metadata.encode()) <= SHARD_LIMIT for t in trunks)
            inventory = classify(await lk.fetch(), "acme")
            assert inventory.ledger == ledger
            # One entry's digest changes: one shard is rewritten, nothing else.
            entry = ledger.owned[1234]
            changed = ledger.with_owned(Entry(entry.kind, entry.name, entry.id, "f" * 16, entry.secrets))
            store = LedgerStore("acme", inventory.ledger_trunks, lk)
            before = lk.writes
            await store.save(changed)
            assert lk.writes - before == 1 and not store.concurrent
            assert classify(await lk.fetch(), "acme").ledger == changed

    serve(scenario)


@pytest.mark.parametrize("limit", range(0, 12, 2))
def test_a_save_killed_at_any_write_loses_no_entry_and_the_next_save_tidies_up(serve, limit):
    """Growing from one shard to several is creates, then the delete of the old trunk: any
    prefix of those writes leaves every entry readable."""
    small, large = big_ledger(30), big_ledger(3000)

    async def scenario(cp, target):
        async with LiveKitAdapter(target) as lk:
            await LedgerStore("acme", (), lk).save(small)
            first = await ledger_trunks(lk)
        async with dies_after(limit)(target) as dying:
            try:
                await LedgerStore("acme", first, dying).save(large)
            except Killed:
                pass
        async with LiveKitAdapter(target) as lk:
            inventory = classify(await lk.fetch(), "acme")
            assert set(small.owned) <= set(inventory.ledger.owned)
            await LedgerStore("acme", inventory.ledger_trunks, lk).save(large)
            trunks = await ledger_trunks(lk)
            assert classify(await lk.fetch(), "acme").ledger == large
            assert sorted(parse_shard(t.metadata).slot for t in trunks) == [(i, len(trunks)) for i in range(len(trunks))]

    serve(scenario)


def spec():
    return state(
        inbound("twilio", ["+15105550100", "+15105550101"], password="s3cret"),
        inbound("telnyx", ["+14155550100"]),
        rule("support", ["twilio"], room="support"),
    )


def test_two_ledgers_left_by_a_race_are_merged_and_the_next_apply_keeps_one(serve):
    async def scenario(cp, target):
        await apply_against(spec(), target)
        async with LiveKitAdapter(target) as lk:
            inventory = classify(await lk.fetch(), "acme")
            (trunk,) = inventory.ledger_trunks
            entries = inventory.ledger.owned
            # What two applies that both created the project's ledger leave: two trunks of it,
            # each with part of what the project owns.
            half = len(entries) // 2
            await lk.replace(OUTBOUND, trunk.sip_trunk_id, ledger_shard_trunk("acme", shard_metadata(Ledger("acme", entries[:half]), 0, 1, 1)))
            other = await lk.create(OUTBOUND, ledger_shard_trunk("acme", shard_metadata(Ledger("acme", entries[half:]), 0, 1, 1)))
            assert len(await ledger_trunks(lk)) == 2
            assert classify(await lk.fetch(), "acme").ledger.owned == entries
        assert (await plan_against(spec(), target)).empty
        result = await apply_against(spec(), target)
        assert (result.applied, result.ledger_saved) == (0, True)
        async with LiveKitAdapter(target) as lk:
            (kept,) = await ledger_trunks(lk)
            assert kept.sip_trunk_id == min(trunk.sip_trunk_id, other.sip_trunk_id)
            assert classify(await lk.fetch(), "acme").ledger.owned == entries
        assert (await apply_against(spec(), target)).ledger_saved is False

    serve(scenario)


def test_a_format_1_ledger_is_read_and_migrated_by_the_next_apply(serve):
    async def scenario(cp, target):
        await apply_against(spec(), target)
        async with LiveKitAdapter(target) as lk:
            inventory = classify(await lk.fetch(), "acme")
            (trunk,) = inventory.ledger_trunks
            old = {
                "sipconf_ledger": 1, "project": "acme",
                "owned": [[e.kind, e.name, e.id, e.digest] for e in inventory.ledger.owned], "pending": [],
            }
            await lk.replace(OUTBOUND, trunk.sip_trunk_id, ledger_shard_trunk("acme", json.dumps(old)))
        assert (await plan_against(spec(), target)).empty  # read as it is
        result = await apply_against(spec(), target)
        assert (result.applied, result.ledger_saved) == (0, True)
        async with LiveKitAdapter(target) as lk:
            (migrated,) = await ledger_trunks(lk)
            shard = parse_shard(migrated.metadata)
            assert (shard.format, shard.slot) == (2, (0, 1))
            assert {e.name for e in shard.ledger.owned} == {"twilio", "telnyx", "support"}
            assert all(e.digest for e in shard.ledger.owned)

    serve(scenario)


def test_secret_reference_names_follow_the_spec_and_literals_are_not_recorded(serve):
    from types import MappingProxyType

    from sipconf.model import SecretRef

    def with_env(obj, name):
        return type(obj)(obj.kind, obj.name, obj.origin, obj.message, MappingProxyType({"auth_password": SecretRef(env=name)}))

    async def scenario(cp, target):
        first = spec()
        await apply_against(first, target)
        async with LiveKitAdapter(target) as lk:
            entry = classify(await lk.fetch(), "acme").ledger.entry(INBOUND, "twilio")
        assert entry.secrets == ()  # the test spec's password is a literal: no name to keep
        named = state(with_env(first.inbound[0], "TWILIO_SIP_PASSWORD"), *first.inbound[1:], *first.rules)
        # Same value under a name: nothing to change live, but the ledger learns the name.
        result = await apply_against(named, target, environ={"TWILIO_SIP_PASSWORD": "s3cret"})
        assert (result.applied, result.ledger_saved) == (0, True)
        async with LiveKitAdapter(target) as lk:
            entry = classify(await lk.fetch(), "acme").ledger.entry(INBOUND, "twilio")
        assert entry.secrets == (("auth_password", "env:TWILIO_SIP_PASSWORD"),)

    serve(scenario)
