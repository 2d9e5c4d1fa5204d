"""The ledger's format 2: shards under SHARD_LIMIT, merged on read, format 1 still read; and
what the embedded control plane accepts (a shard of exactly the limit, through the real
livekit-api client)."""

from __future__ import annotations

import asyncio
import json

import pytest

from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.ledger import (
    FORMAT,
    SHARD_LIMIT,
    Entry,
    Ledger,
    LedgerError,
    Shard,
    ledger_shard_trunk,
    merge,
    parse_shard,
    shard_count,
    shard_metadata,
    shard_of,
)
from sipconf.livekit.target import Target
from sipconf.local.server import ControlPlane
from sipconf.model.kinds import INBOUND, OUTBOUND, RULE

KEY = "ledgerkey"
SECRET = "ledger-test-secret-long-enough-for-hs256-012345"


def big_ledger(objects: int = 3000, project: str = "acme") -> Ledger:
    """`objects` owned entries as a large project has them: a third trunks (some with a
    password reference), two thirds rules, and a few pending creates."""
    owned = []
    for n in range(objects):
        kind = INBOUND if n % 3 == 0 else RULE
        secrets = (("auth_password", f"env:CARRIER_{n:05d}_SIP_PASSWORD"),) if n % 30 == 0 else ()
        owned.append(Entry(kind, f"carrier-{n:05d}-{kind[:4]}", f"S{n:011d}x", f"{n:016x}", secrets))
    pending = tuple(sorted((RULE, f"new-rule-{n}") for n in range(5)))
    return Ledger(project, tuple(sorted(owned)), pending)


def shards_of(ledger: Ledger, generation: int = 1) -> list[str]:
    count = shard_count(ledger)
    return [shard_metadata(ledger, index, count, generation) for index in range(count)]


def test_a_3000_object_ledger_is_several_shards_each_under_the_limit_and_reads_back_whole():
    ledger = big_ledger()
    assert len(bytes(ledger)) > 4 * SHARD_LIMIT  # one metadata field would be far too big
    shards = shards_of(ledger)
    assert len(shards) >= 5
    assert all(len(s.encode()) <= SHARD_LIMIT for s in shards)
    parsed = [parse_shard(s) for s in shards]
    assert [p.slot for p in parsed] == [(i, len(shards)) for i in range(len(shards))]
    assert all(p.format == FORMAT for p in parsed)
    assert merge("acme", ((f"ST_{i}", p) for i, p in enumerate(parsed))) == ledger
    # Each entry is in the shard its (kind, name) hashes to: moving nothing between shards.
    for index, shard in enumerate(parsed):
        assert all(shard_of(e.key, len(shards)) == index for e in shard.ledger.owned)


def test_secret_references_are_kept_and_never_a_value():
    entry = Entry(INBOUND, "voxbone", "ST_1", "abc", (("auth_password", "env:VOXBONE_SIP_PASSWORD"),))
    ledger = Ledger("acme", (entry,))
    (metadata,) = shards_of(ledger)
    assert json.loads(metadata)["owned"] == [[INBOUND, "voxbone", "ST_1", "abc", {"auth_password": "env:VOXBONE_SIP_PASSWORD"}]]
    assert parse_shard(metadata).ledger.owner_of("ST_1").secret_ref("auth_password") == "env:VOXBONE_SIP_PASSWORD"


def test_the_shard_count_grows_and_shrinks_with_the_ledger():
    small, large = big_ledger(10), big_ledger(3000)
    assert shard_count(small) == 1
    grown = shard_count(large)
    assert grown > 1 and shard_count(large, grown) == grown  # stays while it fits
    assert shard_count(small, grown) == 1  # a ledger that shrank comes back to one shard


def test_format_1_is_read_and_merged_with_format_2():
    old = json.dumps({
        "sipconf_ledger": 1, "project": "acme",
        "owned": [[INBOUND, "twilio", "ST_old", "d1"]], "pending": [[RULE, "support"]],
    })
    shard = parse_shard(old)
    assert (shard.format, shard.slot, shard.generation) == (1, (0, 1), 0)
    newer = Ledger("acme", (Entry(INBOUND, "twilio", "ST_old", "d2"), Entry(OUTBOUND, "out", "ST_out", "d3")))
    merged = merge("acme", [("ST_a", shard), ("ST_b", parse_shard(shard_metadata(newer, 0, 1, 4)))])
    assert merged.owned == (Entry(INBOUND, "twilio", "ST_old", "d2"), Entry(OUTBOUND, "out", "ST_out", "d3"))
    assert merged.pending == ((RULE, "support"),)


def test_the_newest_generation_wins_and_a_tie_goes_to_the_lowest_trunk_id():
    def one(digest: str, generation: int) -> Shard:
        return parse_shard(shard_metadata(Ledger("acme", (Entry(RULE, "r", "SDR_1", digest),)), 0, 1, generation))

    assert merge("acme", [("ST_b", one("new", 3)), ("ST_a", one("old", 2))]).owned[0].digest == "new"
    assert merge("acme", [("ST_b", one("b", 2)), ("ST_a", one("a", 2))]).owned[0].digest == "a"


@pytest.mark.parametrize(
    "metadata, reason",
    [
        ("not json", "ledger metadata is not JSON"),
        ('{"sipconf_ledger": 9, "project": "p"}', "ledger metadata is not a sipconf ledger of format 1 or 2"),
        ('{"sipconf_ledger": 2, "project": "p", "owned": [[1]], "shard": [0, 1], "generation": 1}', "ledger metadata has a malformed entry"),
        ('{"sipconf_ledger": 2, "project": "p", "shard": [3, 2], "generation": 1}', "ledger metadata has a malformed entry"),
    ],
)
def test_damaged_metadata_is_one_clear_reason(metadata, reason):
    with pytest.raises(LedgerError) as err:
        parse_shard(metadata)
    assert str(err.value) == reason


def test_the_embedded_plane_stores_a_shard_of_exactly_the_limit(tmp_path):
    """The size a shard may reach, through the real client: stored and read back unchanged."""
    ledger = big_ledger(3000)
    metadata = shards_of(ledger)[0]
    padded = json.loads(metadata)
    padded["owned"].append([RULE, "p", "SDR_pad", ""])
    text = json.dumps(padded, separators=(",", ":"), sort_keys=True)
    # Grow one entry's name until the shard is exactly SHARD_LIMIT bytes long.
    padded["owned"][-1][1] = "p" * (SHARD_LIMIT - len(text.encode()) + 1)
    text = json.dumps(padded, separators=(",", ":"), sort_keys=True)
    assert len(text.encode()) == SHARD_LIMIT

    async def main() -> None:
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp:
            async with LiveKitAdapter(Target(cp.url, KEY, SECRET)) as lk:
                created = await lk.create(OUTBOUND, ledger_shard_trunk("acme", text))
                (stored,) = [t for t in await lk.list_outbound() if t.sip_trunk_id == created.sip_trunk_id]
                assert stored.metadata == text
                await lk.replace(OUTBOUND, created.sip_trunk_id, ledger_shard_trunk("acme", text))
        assert parse_shard(stored.metadata).ledger.owner_of("SDR_pad") is not None

    asyncio.run(main())
