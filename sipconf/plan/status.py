"""`sipconf status`: what is live in the target, by name, with who owns each object.

The live state is read through the adapter and classified by `inventory.classify` exactly as
a plan classifies it (docs/ownership.md): *managed* (this project's ledger lists it),
*unmanaged* (no ledger does), or owned by another sipconf project. The columns are those of
`lk sip inbound list`, `lk sip outbound list` and `lk sip dispatch list`, with the owner
added and secrets left out: a password shows only as set, a PIN only as present.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message
from livekit.protocol import sip

from sipconf.livekit.ledger import LEDGER_PREFIX, is_ledger
from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.live import LiveState
from sipconf.livekit.target import Target
from sipconf.model.kinds import INBOUND, KINDS, OUTBOUND, RULE
from sipconf.plan.inventory import Inventory, LiveObject, classify
from sipconf.plan.ranges import collapse_sorted

MANAGED, UNMANAGED, OTHER_PROJECT = "managed", "unmanaged", "other-project"
KIND_TITLES = {INBOUND: "Inbound trunks", OUTBOUND: "Outbound trunks", RULE: "Dispatch rules"}
_RULE_KINDS = {"dispatch_rule_direct": "direct", "dispatch_rule_individual": "individual", "dispatch_rule_callee": "callee"}


@dataclass(frozen=True)
class StatusRow:
    """One live object: its name, owner and the fields `lk sip ... list` shows (no secret)."""

    name: str
    id: str
    owner: str  # MANAGED | UNMANAGED | OTHER_PROJECT
    project: str | None  # the project whose ledger lists it, if any
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Status:
    url: str
    project: str
    tables: dict[str, tuple[StatusRow, ...]]  # kind -> rows, by name then id
    ledgers: dict[str, tuple[str, ...]]  # project -> the ids of the outbound trunks holding its ledger


async def read_status(target: Target, project: str | None = None) -> Status:
    """Read the target once and classify it for `project` (default: the only project with a
    ledger there, else 'default', as `sipconf import` chooses)."""
    from sipconf.plan.importer import choose_project

    async with LiveKitAdapter(target) as lk:
        live = await lk.fetch()
    return live_status(live, choose_project(live.outbound, project), target.url)


def live_status(live: LiveState, project: str, url: str) -> Status:
    """The live state as `sipconf status` shows it for `project`."""
    inventory = classify(live, project)
    names = {o.id: _name(o, inventory) for o in inventory.objects if o.kind == INBOUND}  # a rule's trunks
    tables = {
        kind: tuple(sorted((_row(o, inventory, names) for o in inventory.objects if o.kind == kind),
                           key=lambda r: (r.name, r.id)))
        for kind in KINDS
    }
    return Status(url, project, tables, _ledgers(live))


def _name(obj: LiveObject, inventory: Inventory) -> str:
    """The spec's name for an object this project owns (its ledger entry), else the live name."""
    entry = inventory.ledger.owner_of(obj.id) if obj.owned else None
    return entry.name if entry is not None else obj.name


def _row(obj: LiveObject, inventory: Inventory, names: dict[str, str]) -> StatusRow:
    if obj.owned:
        owner, project = MANAGED, inventory.project
    else:
        owner, project = (OTHER_PROJECT if obj.owner else UNMANAGED), obj.owner
    return StatusRow(_name(obj, inventory), obj.id, owner, project, _FIELDS[obj.kind](obj.message, names))


def _auth(msg: Message) -> str:
    """`user / ****` as `lk` shows it: the username, and only whether a password is set."""
    if not msg.auth_username and not msg.auth_password:
        return ""
    return f"{msg.auth_username} / {'****' if msg.auth_password else ''}".rstrip()


def _inbound(msg: sip.SIPInboundTrunkInfo, _names: dict[str, str]) -> dict[str, object]:
    return {
        "numbers": collapse_sorted(msg.numbers), "allowed_addresses": list(msg.allowed_addresses),
        "allowed_numbers": collapse_sorted(msg.allowed_numbers), "auth": _auth(msg),
    }


def _outbound(msg: sip.SIPOutboundTrunkInfo, _names: dict[str, str]) -> dict[str, object]:
    transport = sip.SIPTransport.Name(msg.transport).removeprefix("SIP_TRANSPORT_").lower()
    return {"address": msg.address, "transport": transport, "numbers": collapse_sorted(msg.numbers), "auth": _auth(msg)}


def _rule(msg: sip.SIPDispatchRuleInfo, names: dict[str, str]) -> dict[str, object]:
    which = msg.rule.WhichOneof("rule") if msg.HasField("rule") else None
    member = getattr(msg.rule, which) if which else None
    room = "" if member is None else member.room_name if which == "dispatch_rule_direct" else member.room_prefix
    return {
        "trunks": [names.get(t, t) for t in msg.trunk_ids], "kind": _RULE_KINDS.get(which or "", "unset"),
        "room": room, "pin": bool(member is not None and member.pin),
        "numbers": collapse_sorted(msg.numbers), "inbound_numbers": collapse_sorted(msg.inbound_numbers),
    }


_FIELDS = {INBOUND: _inbound, OUTBOUND: _outbound, RULE: _rule}


def _ledgers(live: LiveState) -> dict[str, tuple[str, ...]]:
    """Every project that keeps a ledger in the target, with its trunks (docs/ownership.md)."""
    found: dict[str, list[str]] = {}
    for trunk in live.outbound:
        if is_ledger(trunk):  # named `sipconf-ledger:<project>`
            found.setdefault(trunk.name.removeprefix(LEDGER_PREFIX), []).append(trunk.sip_trunk_id)
    return {p: tuple(sorted(ids)) for p, ids in sorted(found.items())}
