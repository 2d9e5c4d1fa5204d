"""The ownership ledger: which live objects a sipconf project owns (docs/ownership.md).

LiveKit copies a dispatch rule's `metadata` and `attributes` onto every participant it creates
(docs/livekit.md#room-service), so an ownership marker cannot live there, and
user metadata must stay the user's. Instead each project keeps ONE ledger object: an outbound
trunk named `sipconf-ledger:<project>` whose `metadata` is a JSON ledger. Routing never uses an
outbound trunk unless a CreateSIPParticipant names its id, so the ledger has no effect on calls.

The ledger lists owned objects `{kind, name, id, digest}` and *pending* creates `{kind, name}`,
written before a create is sent. If an apply dies between the create and the ledger write, the
next run finds a live object with a pending (kind, name) and adopts it instead of creating a
duplicate. `digest` is a hash of the object (secrets excluded) as sipconf last wrote it, so a
hand edit in the live project is reported as drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from livekit.protocol import sip

LEDGER_PREFIX = "sipconf-ledger:"
LEDGER_ADDRESS = "sipconf-ledger.invalid"  # RFC 6761 .invalid: never resolves, never dialled
LEDGER_NUMBER = "sipconf-ledger"
FORMAT = 1


class LedgerError(ValueError):
    """The ledger trunk's metadata is not a ledger this version understands."""


@dataclass(frozen=True, order=True)
class Entry:
    kind: str
    name: str
    id: str
    digest: str = ""


@dataclass(frozen=True)
class Ledger:
    project: str
    owned: tuple[Entry, ...] = ()
    pending: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def owner_of(self, live_id: str) -> Entry | None:
        for entry in self.owned:
            if entry.id == live_id:
                return entry
        return None

    def owns(self, live_id: str) -> bool:
        return self.owner_of(live_id) is not None

    def with_owned(self, entry: Entry) -> Ledger:
        """Record `entry` as owned (replacing any entry with its id or its kind+name)."""
        rest = [e for e in self.owned if e.id != entry.id and (e.kind, e.name) != (entry.kind, entry.name)]
        pending = tuple(p for p in self.pending if p != (entry.kind, entry.name))
        return replace(self, owned=tuple(sorted(rest + [entry])), pending=pending)

    def without(self, live_id: str) -> Ledger:
        return replace(self, owned=tuple(e for e in self.owned if e.id != live_id))

    def with_pending(self, keys: list[tuple[str, str]]) -> Ledger:
        merged = sorted(set(self.pending) | set(keys))
        return replace(self, pending=tuple(merged))

    def __bytes__(self) -> bytes:
        doc = {
            "sipconf_ledger": FORMAT,
            "project": self.project,
            "owned": [[e.kind, e.name, e.id, e.digest] for e in self.owned],
            "pending": [list(p) for p in self.pending],
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def parse(cls, data: bytes | str) -> Ledger:
        try:
            doc = json.loads(data)
        except ValueError:
            raise LedgerError("ledger metadata is not JSON") from None
        if not isinstance(doc, dict) or doc.get("sipconf_ledger") != FORMAT:
            raise LedgerError(f"ledger metadata is not a sipconf ledger of format {FORMAT}")
        try:
            owned = tuple(sorted(Entry(*map(str, row)) for row in doc.get("owned", [])))
            pending = tuple(sorted((str(k), str(n)) for k, n in doc.get("pending", [])))
            return cls(project=str(doc["project"]), owned=owned, pending=pending)
        except (KeyError, TypeError, ValueError):
            raise LedgerError("ledger metadata has a malformed entry") from None


def ledger_name(project: str) -> str:
    return LEDGER_PREFIX + project


def is_ledger(trunk: sip.SIPOutboundTrunkInfo) -> bool:
    return trunk.name.startswith(LEDGER_PREFIX)


def ledger_trunk(ledger: Ledger) -> sip.SIPOutboundTrunkInfo:
    """The outbound trunk that stores `ledger` (valid per docs/livekit.md#validate-objects: numbers
    and address set)."""
    return sip.SIPOutboundTrunkInfo(
        name=ledger_name(ledger.project),
        address=LEDGER_ADDRESS,
        numbers=[LEDGER_NUMBER],
        metadata=bytes(ledger).decode(),
    )
