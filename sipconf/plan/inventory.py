"""Live objects classified for one project: which of them its ledger says it owns.

The adapter reads the live state (sipconf.livekit.adapter); everything decided about it is
here: ownership (docs/ownership.md), the digest that tells a hand edit (drift), and the
checksum a saved plan is pinned to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.livekit.ledger import Ledger, LedgerError, Shard, is_ledger, ledger_name, merge, parse_shard
from sipconf.livekit.live import LiveState
from sipconf.model.kinds import INBOUND, KINDS, OUTBOUND, object_id
from sipconf.plan.canonical import canonical, from_live


def live_checksum(live: LiveState) -> str:
    """sha256 of the whole live state; a saved plan is refused when this changed."""
    hasher = hashlib.sha256()
    for kind in KINDS:
        for msg in sorted(live.of_kind(kind), key=lambda m: object_id(kind, m)):
            body = msg.SerializeToString(deterministic=True)
            hasher.update(kind.encode() + b"\0" + len(body).to_bytes(4, "big") + body)
    return "sha256:" + hasher.hexdigest()


@dataclass(frozen=True)
class LiveObject:
    kind: str
    name: str
    id: str
    message: Message
    owned: bool
    owner: str | None = None  # the project whose ledger lists it, if any
    adopted: bool = False  # owned because a pending create of ours left it behind


@dataclass(frozen=True)
class Inventory:
    """The live state classified for one project."""

    project: str
    live: LiveState
    ledger: Ledger  # merged from every trunk that holds a part of it
    ledger_trunks: tuple[Message, ...]  # those trunks, as read
    objects: tuple[LiveObject, ...] = ()
    trunk_names: dict[str, str] = field(default_factory=dict)  # inbound trunk id -> name

    def named(self, kind: str, name: str) -> list[LiveObject]:
        return list(self._by_name.get((kind, name), ()))

    @cached_property
    def _by_name(self) -> dict[tuple[str, str], list[LiveObject]]:
        """(kind, name) -> live objects: a plan looks up every spec object, so once, not a scan each."""
        index: dict[tuple[str, str], list[LiveObject]] = {}
        for obj in self.objects:
            index.setdefault((obj.kind, obj.name), []).append(obj)
        return index

    def one(self, kind: str, name: str) -> LiveObject | None:
        """The single live object of this kind and name; two of them are an error naming both ids."""
        found = self.named(kind, name)
        if len(found) > 1:
            ids = " and ".join(o.id for o in sorted(found, key=lambda o: o.id))
            raise UserError(
                f"two live {kind.replace('_', ' ')}s are named {name!r}: {ids}; "
                "rename or delete one of them in LiveKit so the name identifies one object"
            )
        return found[0] if found else None

    def owned(self) -> list[LiveObject]:
        return [o for o in self.objects if o.owned]


def classify(live: LiveState, project: str) -> Inventory:
    """Find this project's ledger and mark every other live object owned or unmanaged.

    An object is owned when the ledger lists its id, or when the ledger has a pending create
    for its kind and name and no owned object of that kind and name exists (an apply died
    between the create and the ledger write; docs/ownership.md, "Interrupted applies").
    """
    mine = tuple(t for t in live.outbound if t.name == ledger_name(project))
    ledger = merge(project, ((t.sip_trunk_id, _parse(t, project)) for t in mine))
    others: dict[str, str] = {}
    for trunk in live.outbound:
        if is_ledger(trunk) and trunk.name != ledger_name(project):
            try:
                other = Ledger.parse(trunk.metadata)
            except LedgerError:
                continue
            others.update({e.id: other.project for e in other.owned})

    owned_ids = {entry.id for entry in ledger.owned}
    objects: list[LiveObject] = []
    for kind in KINDS:
        for msg in live.of_kind(kind):
            if kind == OUTBOUND and is_ledger(msg):
                continue
            oid = object_id(kind, msg)
            owned = oid in owned_ids
            objects.append(LiveObject(kind, msg.name, oid, msg, owned, project if owned else others.get(oid)))
    objects = _adopt_pending(objects, ledger, project)
    trunk_names = {o.id: o.name for o in objects if o.kind == INBOUND}
    return Inventory(project, live, ledger, mine, tuple(objects), trunk_names)


def _parse(trunk: Message, project: str) -> Shard:
    try:
        return parse_shard(trunk.metadata)
    except LedgerError as err:
        raise UserError(
            f"the ledger trunk {trunk.sip_trunk_id} ({ledger_name(project)}) is damaged: {err}; "
            "see docs/ownership.md to rebuild it"
        ) from None


def _adopt_pending(objects: list[LiveObject], ledger: Ledger, project: str) -> list[LiveObject]:
    pending = set(ledger.pending)
    owned_keys = {(o.kind, o.name) for o in objects if o.owned}
    out = []
    for obj in objects:
        key = (obj.kind, obj.name)
        if not obj.owned and obj.owner is None and key in pending and key not in owned_keys:
            obj = LiveObject(obj.kind, obj.name, obj.id, obj.message, True, project, adopted=True)
        out.append(obj)
    return out


def digest(kind: str, msg: Message, trunk_names: dict[str, str]) -> str:
    """A short hash of an object as sipconf sees it (name space, canonical, secrets left out).

    Stored in the ledger after each write; a live object whose digest differs was edited by
    hand (drift). Secrets are excluded so the ledger, readable by anyone with sip.admin,
    leaks nothing a brute force could recover (a 4-digit PIN has 10,000 values).
    """
    model, _secrets = from_live(kind, msg, trunk_names)
    body = canonical(kind, model).SerializeToString(deterministic=True)
    return hashlib.sha256(body).hexdigest()[:16]
