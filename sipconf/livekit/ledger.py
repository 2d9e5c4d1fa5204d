"""The ownership ledger: which live objects a sipconf project owns (docs/ownership.md).

LiveKit copies a dispatch rule's `metadata` and `attributes` onto every participant it creates
(docs/livekit.md#room-service), so an ownership marker cannot live there,
and user metadata must stay the user's. Instead each project keeps a ledger in outbound
trunks named `sipconf-ledger:<project>` whose `metadata` holds it as JSON. Routing never uses
an outbound trunk unless a CreateSIPParticipant names its id, so the ledger has no effect on
calls.

The ledger lists owned objects `{kind, name, id, digest, secret references}` and *pending*
creates `{kind, name}`, written before a create is sent. If an apply dies between the create
and the ledger write, the next run finds a live object with a pending (kind, name) and adopts
it instead of creating a duplicate. `digest` is a hash of the object (secrets excluded) as
sipconf last wrote it, so a hand edit in the live project is reported as drift. The secret
references are the spec's names (`env:VOXBONE_SIP_PASSWORD`), never values, so `sipconf import`
writes the spec as it was.

Format 2 splits the ledger into *shards*, each one trunk whose metadata stays under
`SHARD_LIMIT` bytes: an entry lives in shard `hash(kind, name) mod count`, so rewriting one
shard never moves an entry of another, and a writer killed between two shard writes loses
nothing. Reading merges every trunk of the project's ledger (format 1 included), the newest
generation winning per entry; a later write keeps one trunk per shard and deletes the rest,
which is how two ledgers left by two applies that raced to create one become one again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable

from livekit.protocol import sip

LEDGER_PREFIX = "sipconf-ledger:"
LEDGER_ADDRESS = "sipconf-ledger.invalid"  # RFC 6761 .invalid: never resolves, never dialled
LEDGER_NUMBER = "sipconf-ledger"
FORMAT = 2
FORMATS = (1, 2)  # formats this version reads; format 1 is rewritten as 2 by the next apply
# LiveKit's server caps metadata and attributes at 64 KB each (`pkg/config/config.go:LimitConfig`,
# `max_metadata_size`); a shard stays at 48 KiB so the trunk around it, and a deployment
# configured tighter, have room left. The embedded plane takes any size up to a 4 MiB request.
SHARD_LIMIT = 48 * 1024
MAX_SHARDS = 1024

Key = tuple[str, str]  # (kind, spec name)


class LedgerError(ValueError):
    """A ledger trunk's metadata is not a ledger this version understands."""


@dataclass(frozen=True, order=True)
class Entry:
    kind: str
    name: str
    id: str
    digest: str = ""
    secrets: tuple[tuple[str, str], ...] = ()  # (field path, "env:NAME" or "file:PATH"), sorted

    @property
    def key(self) -> Key:
        return (self.kind, self.name)

    def secret_ref(self, path: str) -> str | None:
        return dict(self.secrets).get(path)

    def row(self) -> list:
        row: list = [self.kind, self.name, self.id, self.digest]
        if self.secrets:
            row.append(dict(self.secrets))
        return row

    @classmethod
    def from_row(cls, row: list) -> Entry:
        if not isinstance(row, list) or len(row) not in (3, 4, 5):
            raise ValueError("entry is not a list of 3 to 5 items")
        secrets = row[4] if len(row) == 5 else {}
        if not isinstance(secrets, dict):
            raise ValueError("secret references are not a map")
        return cls(*map(str, row[:4]), secrets=tuple(sorted((str(k), str(v)) for k, v in secrets.items())))


@dataclass(frozen=True)
class Ledger:
    project: str
    owned: tuple[Entry, ...] = ()
    pending: tuple[Key, ...] = field(default_factory=tuple)

    @cached_property
    def _by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.owned}

    @cached_property
    def _by_key(self) -> dict[Key, Entry]:
        return {e.key: e for e in self.owned}

    def owner_of(self, live_id: str) -> Entry | None:
        return self._by_id.get(live_id)

    def owns(self, live_id: str) -> bool:
        return live_id in self._by_id

    def entry(self, kind: str, name: str) -> Entry | None:
        return self._by_key.get((kind, name))

    def with_owned(self, entry: Entry) -> Ledger:
        """Record `entry` as owned (replacing any entry with its id or its kind+name)."""
        rest = [e for e in self.owned if e.id != entry.id and e.key != entry.key]
        pending = tuple(p for p in self.pending if p != entry.key)
        return replace(self, owned=tuple(sorted(rest + [entry])), pending=pending)

    def without(self, live_id: str) -> Ledger:
        return replace(self, owned=tuple(e for e in self.owned if e.id != live_id))

    def with_pending(self, keys: Iterable[Key]) -> Ledger:
        merged = sorted(set(self.pending) | set(keys))
        return replace(self, pending=tuple(merged))

    def __bytes__(self) -> bytes:
        """The whole ledger as one canonical document (what the shards hold between them)."""
        return json.dumps(_document(self, self.owned, self.pending), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def parse(cls, data: bytes | str) -> Ledger:
        """The part of a ledger one trunk holds (any format this version reads)."""
        return parse_shard(data).ledger


@dataclass(frozen=True)
class Shard:
    """What one ledger trunk holds: its part of the ledger, which shard it is, and when written."""

    ledger: Ledger
    index: int = 0
    count: int = 1
    generation: int = 0
    format: int = FORMAT

    @property
    def slot(self) -> tuple[int, int]:
        return (self.index, self.count)


def shard_of(key: Key, count: int) -> int:
    """The shard of an entry: stable across runs, machines and Python versions."""
    if count == 1:
        return 0
    digest = hashlib.sha256(f"{key[0]}\0{key[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def shard_metadata(ledger: Ledger, index: int, count: int, generation: int) -> str:
    """The metadata of shard `index` of `count`: its entries, sorted, as compact JSON."""
    owned = [e for e in ledger.owned if shard_of(e.key, count) == index]
    pending = [p for p in ledger.pending if shard_of(p, count) == index]
    doc = _document(ledger, owned, pending)
    doc.update(shard=[index, count], generation=generation)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def _document(ledger: Ledger, owned: Iterable[Entry], pending: Iterable[Key]) -> dict:
    return {
        "sipconf_ledger": FORMAT,
        "project": ledger.project,
        "owned": [e.row() for e in owned],
        "pending": [list(p) for p in pending],
    }


def shard_count(ledger: Ledger, current: int = 1) -> int:
    """How many shards hold `ledger`: the current count while every shard fits under
    SHARD_LIMIT (so a save rewrites only what changed), doubled until each does; halved while
    the whole would fill under a quarter of the shards."""
    count = max(1, current)
    while count > 1 and len(bytes(ledger)) < SHARD_LIMIT * count // 4 and _fits(ledger, count // 2):
        count //= 2
    while not _fits(ledger, count):
        count *= 2
        if count > MAX_SHARDS:
            raise LedgerError(f"the ledger of project {ledger.project!r} does not fit in {MAX_SHARDS} shards")
    return count


def _fits(ledger: Ledger, count: int) -> bool:
    sizes = [0] * count
    overhead = len(shard_metadata(Ledger(ledger.project), count - 1, count, 10**12))
    for entry in ledger.owned:
        sizes[shard_of(entry.key, count)] += len(json.dumps(entry.row(), separators=(",", ":"))) + 1
    for key in ledger.pending:
        sizes[shard_of(key, count)] += len(json.dumps(list(key), separators=(",", ":"))) + 1
    return max(sizes) + overhead <= SHARD_LIMIT


def parse_shard(data: bytes | str) -> Shard:
    try:
        doc = json.loads(data)
    except ValueError:
        raise LedgerError("ledger metadata is not JSON") from None
    version = doc.get("sipconf_ledger") if isinstance(doc, dict) else None
    if version not in FORMATS:
        raise LedgerError(f"ledger metadata is not a sipconf ledger of format {' or '.join(map(str, FORMATS))}")
    try:
        owned = tuple(sorted(Entry.from_row(row) for row in doc.get("owned", [])))
        pending = tuple(sorted((str(k), str(n)) for k, n in doc.get("pending", [])))
        ledger = Ledger(project=str(doc["project"]), owned=owned, pending=pending)
        if version == 1:
            return Shard(ledger, format=1)
        index, count = (int(x) for x in doc["shard"])
        if not 0 <= index < count <= MAX_SHARDS:
            raise ValueError("shard index out of range")
        return Shard(ledger, index, count, int(doc["generation"]))
    except (KeyError, TypeError, ValueError):
        raise LedgerError("ledger metadata has a malformed entry") from None


def merge(project: str, shards: Iterable[tuple[str, Shard]]) -> Ledger:
    """One ledger from every trunk of it, as (trunk id, shard): per (kind, name), the entry of
    the newest generation wins (ties: the lowest trunk id, the one a save keeps); pending
    creates are the union."""
    ordered = sorted(shards, key=lambda item: (item[1].generation, _descending(item[0])))
    by_key: dict[Key, Entry] = {}
    pending: set[Key] = set()
    for _trunk_id, shard in ordered:
        for entry in shard.ledger.owned:
            by_key[entry.key] = entry
        pending.update(shard.ledger.pending)
    by_id: dict[str, Entry] = {}
    for entry in by_key.values():
        by_id[entry.id] = entry  # one id under two names (never written so): the later wins
    return Ledger(project, tuple(sorted(by_id.values())), tuple(sorted(pending)))


def _descending(text: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in text)


def ledger_name(project: str) -> str:
    return LEDGER_PREFIX + project


def is_ledger(trunk: sip.SIPOutboundTrunkInfo) -> bool:
    return trunk.name.startswith(LEDGER_PREFIX)


def ledger_trunk(ledger: Ledger, index: int = 0, count: int = 1, generation: int = 1) -> sip.SIPOutboundTrunkInfo:
    """The outbound trunk that stores shard `index` of `count` of `ledger` (a valid outbound
    trunk: numbers and address set, docs/livekit.md#validate-objects)."""
    return ledger_shard_trunk(ledger.project, shard_metadata(ledger, index, count, generation))


def ledger_shard_trunk(project: str, metadata: str) -> sip.SIPOutboundTrunkInfo:
    return sip.SIPOutboundTrunkInfo(
        name=ledger_name(project),
        address=LEDGER_ADDRESS,
        numbers=[LEDGER_NUMBER],
        metadata=metadata,
    )
