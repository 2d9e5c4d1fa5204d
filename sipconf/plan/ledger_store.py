"""Saving the ownership ledger into its shard trunks (format: sipconf.livekit.ledger).

A save writes only what changed, in an order a `kill -9` cannot hurt: every shard is created or
replaced first (each replace is atomic), extra trunks are deleted last, so at any moment the
live trunks hold at least the ledger being saved. One trunk per shard is kept, the one with
the lowest id; any other trunk of the project's ledger is merged first, then deleted.

A save starts by listing the ledger's trunks again. A trunk this apply did not write, or one
changed or gone since, means another writer is at work: an apply that the lock did not
exclude (a target without a server-held lock, two machines, two lock directories). Its
entries are merged in, so no ownership is lost, and the save reports it so the engine stops.
When a save creates trunks (the first ledger of a project, or one that grew), it lists once
more afterwards: two applies that created a project's first ledger at the same moment both
see it there, before either has changed anything else.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Iterable, Mapping, Protocol

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.livekit.ledger import (
    FORMAT,
    Ledger,
    LedgerError,
    Shard,
    ledger_name,
    ledger_shard_trunk,
    parse_shard,
    shard_count,
    shard_metadata,
)
from sipconf.model.kinds import OUTBOUND


class LedgerWriter(Protocol):
    """What a save needs of the adapter (sipconf.livekit.adapter.LiveKitAdapter)."""

    async def create(self, kind: str, msg: Message) -> Message: ...
    async def replace(self, kind: str, live_id: str, msg: Message) -> Message: ...
    async def delete(self, kind: str, live_id: str) -> None: ...
    async def list_outbound(self) -> tuple[Message, ...]: ...


class LedgerStore:
    """The trunks of one project's ledger as this apply last read or wrote them."""

    def __init__(self, project: str, trunks: Iterable[Message], writer: LedgerWriter) -> None:
        self.project = project
        self.writer = writer
        self.known: dict[str, str] = {t.sip_trunk_id: t.metadata for t in trunks}  # trunk id -> metadata
        self.concurrent = False  # another writer was seen by a save

    def needs_save(self, ledger: Ledger) -> bool:
        """Whether a save of `ledger` would write anything (content, format, layout)."""
        writes, deletes = _layout(ledger, self.known, self.project)
        return bool(writes or deletes)

    async def save(self, ledger: Ledger) -> Ledger:
        """Store `ledger` (with whatever another writer added merged in); returns what was stored.

        Sets `concurrent` when another writer was seen; the caller decides what to do about it.
        """
        ledger = await self._refresh(ledger)
        created = await self._write(ledger)
        if created:
            ledger = await self._refresh(ledger)
            await self._write(ledger)
        return ledger

    async def _refresh(self, ledger: Ledger) -> Ledger:
        """List the ledger's trunks; merge in any this apply did not write as they are."""
        live = {t.sip_trunk_id: t.metadata for t in await self.writer.list_outbound() if t.name == ledger_name(self.project)}
        foreign = [tid for tid, metadata in live.items() if self.known.get(tid) != metadata]
        if foreign or any(tid not in live for tid in self.known):
            self.concurrent = True
        for tid in foreign:
            ledger = absorb(ledger, _parse(tid, live[tid], self.project).ledger)
        self.known = live
        return ledger

    async def _write(self, ledger: Ledger) -> bool:
        """Write the shards that differ, then delete the trunks no shard keeps; True when a
        trunk was created."""
        writes, deletes = _layout(ledger, self.known, self.project)

        async def write(trunk_id: str | None, metadata: str) -> None:
            body = ledger_shard_trunk(self.project, metadata)
            if trunk_id is None:
                trunk_id = (await self.writer.create(OUTBOUND, body)).sip_trunk_id
            else:
                await self.writer.replace(OUTBOUND, trunk_id, body)
            self.known[trunk_id] = metadata

        async def delete(trunk_id: str) -> None:
            await self.writer.delete(OUTBOUND, trunk_id)
            self.known.pop(trunk_id, None)

        await asyncio.gather(*(write(tid, metadata) for tid, metadata in writes))
        await asyncio.gather(*(delete(tid) for tid in deletes))
        return any(tid is None for tid, _ in writes)


def absorb(ours: Ledger, theirs: Ledger) -> Ledger:
    """`ours` plus what `theirs` knows that `ours` does not: owned objects of other names and
    ids (ours wins where both name one), and pending creates."""
    known_ids = {e.id for e in ours.owned}
    known_keys = {e.key for e in ours.owned}
    for entry in theirs.owned:
        if entry.id not in known_ids and entry.key not in known_keys:
            ours = ours.with_owned(entry)
    new_pending = [p for p in theirs.pending if p not in known_keys]
    return ours.with_pending(new_pending) if new_pending else ours


def _layout(ledger: Ledger, live: Mapping[str, str], project: str) -> tuple[list[tuple[str | None, str]], list[str]]:
    """(writes as (trunk id or None to create, metadata), trunk ids to delete) that make `live`
    hold exactly `ledger`, in the current shard count while it fits."""
    if not live and not ledger.owned and not ledger.pending:
        return [], []  # nothing owned and no ledger yet: no trunk to make
    shards = {tid: _parse(tid, metadata, project) for tid, metadata in live.items()}
    counts = Counter(s.count for s in shards.values() if s.format == FORMAT)
    count = shard_count(ledger, counts.most_common(1)[0][0] if counts else 1)
    generation = max((s.generation for s in shards.values()), default=0) + 1
    keep: dict[int, str] = {}
    for tid in sorted(live):
        shard = shards[tid]
        if shard.format == FORMAT and shard.count == count:
            keep.setdefault(shard.index, tid)
    writes: list[tuple[str | None, str]] = []
    for index in range(count):
        tid = keep.get(index)
        if tid is not None and live[tid] == shard_metadata(ledger, index, count, shards[tid].generation):
            continue  # unchanged: not rewritten, keeps its generation
        writes.append((tid, shard_metadata(ledger, index, count, generation)))
    deletes = sorted(tid for tid in live if tid not in keep.values())
    return writes, deletes


def _parse(trunk_id: str, metadata: str, project: str) -> Shard:
    try:
        return parse_shard(metadata)
    except LedgerError as err:
        raise UserError(
            f"the ledger trunk {trunk_id} ({ledger_name(project)}) is damaged: {err}; see docs/ownership.md to rebuild it"
        ) from None
