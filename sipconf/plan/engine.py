"""The apply engine: carry out a plan's changes in order, keeping the ownership ledger true.

Resumable by construction (docs/ownership.md, "Interrupted applies"):
1. Before any create, the ledger records it as *pending* (kind, name).
2. After each create, the ledger records the new id as owned.
3. A run killed between 1 and 2 leaves a live object whose (kind, name) is pending; the next
   run's classification adopts it (sipconf.plan.inventory), so nothing is created twice.
Deletes are idempotent (a trunk delete of an unknown id succeeds; a rule's `not_found` is
ignored), and updates replace the whole object, so repeating any step is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Protocol

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.livekit.adapter import Conflict
from sipconf.livekit.ledger import Entry, Ledger, ledger_trunk
from sipconf.livekit.wire import to_live
from sipconf.model import DesiredState
from sipconf.model.kinds import INBOUND, OUTBOUND, RULE, object_id
from sipconf.plan.changes import CREATE, DELETE, SYMBOL, UPDATE, Change
from sipconf.plan.diff import desired_message
from sipconf.plan.inventory import Inventory, digest
from sipconf.plan.plan import Plan


class Writer(Protocol):
    """What the engine needs of the adapter (sipconf.livekit.adapter.LiveKitAdapter)."""

    async def create(self, kind: str, msg: Message) -> Message: ...
    async def replace(self, kind: str, live_id: str, msg: Message) -> Message: ...
    async def delete(self, kind: str, live_id: str) -> None: ...


@dataclass
class _State:
    ledger: Ledger
    ledger_id: str | None
    written: bytes
    trunk_ids: dict[str, str] = field(default_factory=dict)  # inbound trunk name -> live id
    trunk_names: dict[str, str] = field(default_factory=dict)  # live id -> name


async def apply_plan(
    plan: Plan,
    desired: DesiredState,
    inventory: Inventory,
    writer: Writer,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> int:
    """Apply `plan` (computed against `inventory`); returns the number of changes made."""
    state = _State(inventory.ledger, inventory.ledger_id, bytes(inventory.ledger))
    state.trunk_names = dict(inventory.trunk_names)
    for obj in inventory.objects:
        if obj.kind == INBOUND:
            state.trunk_ids.setdefault(obj.name, obj.id)
    _repair(state, inventory)
    creates = [(c.kind, c.name) for c in plan.changes if c.action == CREATE]
    if creates:
        state.ledger = state.ledger.with_pending(creates)
    await _write_ledger(state, writer)

    total, n = len(plan.changes), 0
    for step in _steps(plan.changes):
        # Within one step (say, all inbound trunk updates) a write LiveKit refuses as a
        # conflict is retried after the others: moving a number from trunk B to trunk A
        # works once B has let go of it, whatever the name order. Stops when a round makes
        # no progress (a true conflict, or a swap no order can do), raising the first error.
        waiting = list(step)
        while waiting:
            deferred: list[tuple[Change, Conflict]] = []
            for change in waiting:
                try:
                    done = await _one(change, desired, state, writer, environ)
                except Conflict as err:
                    deferred.append((change, err))
                    continue
                n += 1
                progress(f"[{n}/{total}] {SYMBOL[change.action]} {change.kind} {change.name}: {done}")
                if change.action == CREATE:
                    await _write_ledger(state, writer)  # record the new id before anything else
            if len(deferred) == len(waiting):
                stuck, err = deferred[0]
                if not _recreatable(stuck):
                    await _write_ledger(state, writer)
                    raise err
                # Rules that swap numbers (or PINs) conflict in every order. Nothing refers
                # to a rule's id, so one of them is deleted now and created again after the
                # others have moved, which breaks the cycle.
                progress(f"[{n}/{total}] ~ {stuck.kind} {stuck.name}: {await _release(stuck, state, writer)}")
                deferred = deferred[1:] + [(replace(stuck, action=CREATE, live_id=None), err)]
            waiting = [change for change, _err in deferred]
    await _write_ledger(state, writer)
    return total


def _recreatable(change: Change) -> bool:
    return change.action == UPDATE and change.kind == RULE


async def _release(change: Change, state: _State, writer: Writer) -> str:
    """Delete a rule that will be created again. The ledger marks it pending first, so a run
    killed in between creates it on the next apply instead of losing or doubling it."""
    state.ledger = state.ledger.with_pending([(change.kind, change.name)]).without(change.live_id)
    await _write_ledger(state, writer)
    await writer.delete(change.kind, change.live_id)
    return f"deleted {change.live_id} to break a conflict cycle; it is created again below"


def _steps(changes: tuple[Change, ...]) -> list[list[Change]]:
    """Consecutive changes of one (action, kind): the plan is already in apply order."""
    steps: list[list[Change]] = []
    for change in changes:
        if steps and (steps[-1][0].action, steps[-1][0].kind) == (change.action, change.kind):
            steps[-1].append(change)
        else:
            steps.append([change])
    return steps


def _repair(state: _State, inventory: Inventory) -> None:
    """Fold adopted half-creates into the ledger and forget owned ids that are gone live."""
    live_ids = {o.id for o in inventory.objects}
    for entry in state.ledger.owned:
        if entry.id not in live_ids:
            state.ledger = state.ledger.without(entry.id)
    for obj in inventory.objects:
        if obj.adopted:
            state.ledger = state.ledger.with_owned(Entry(obj.kind, obj.name, obj.id, digest(obj.kind, obj.message, state.trunk_names)))


async def _one(change: Change, desired: DesiredState, state: _State, writer: Writer, environ) -> str:
    if change.action == DELETE:
        await writer.delete(change.kind, change.live_id)
        state.ledger = state.ledger.without(change.live_id)
        return f"deleted {change.live_id}"
    obj = desired.find(change.kind, change.name)
    if obj is None:
        raise UserError(f"the plan {change.action}s {change.kind} {change.name!r}, which the spec does not define")
    if not obj.managed:
        raise UserError(f"the plan {change.action}s {change.kind} {change.name!r}, which the spec marks `managed: false`")
    body = to_live(change.kind, change.name, desired_message(obj, environ), state.trunk_ids)
    if change.action == CREATE:
        result = await writer.create(change.kind, body)
        verb = "created"
    else:
        result = await writer.replace(change.kind, change.live_id, body)
        verb = "updated"
    live_id = object_id(change.kind, result)
    if change.kind == INBOUND:
        state.trunk_ids[change.name] = live_id
        state.trunk_names[live_id] = change.name
    state.ledger = state.ledger.with_owned(Entry(change.kind, change.name, live_id, digest(change.kind, result, state.trunk_names)))
    return f"{verb} {live_id}"


async def _write_ledger(state: _State, writer: Writer) -> None:
    """Store the ledger when it changed since the last write (so an empty apply writes nothing)."""
    body = bytes(state.ledger)
    if body == state.written:
        return
    trunk = ledger_trunk(state.ledger)
    if state.ledger_id is None:
        created = await writer.create(OUTBOUND, trunk)
        state.ledger_id = created.sip_trunk_id
    else:
        await writer.replace(OUTBOUND, state.ledger_id, trunk)
    state.written = body
