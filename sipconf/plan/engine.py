"""The apply engine: carry out a plan's changes, several requests at a time, keeping the
ownership ledger true.

Order: the plan is already in apply order (sipconf.plan.changes.APPLY_ORDER); each *step* is
a run of one action on one kind (all rule deletes, then all trunk deletes, ..., all rule
creates). A step's requests go out `parallelism` at a time and the next step starts when the
step is done, so rules are deleted before their trunks and trunks exist before the rules
that name them.

Resumable by construction (docs/ownership.md, "Interrupted applies"), whatever the moment of
a `kill -9`:
1. Before the first change, the ledger records every planned create as *pending* (kind, name).
2. A run killed after a create but before the ledger recorded its id leaves a live object
   whose (kind, name) is pending; the next run adopts it (sipconf.plan.inventory), so
   nothing is created twice.
3. Deletes are idempotent (a trunk delete of an unknown id succeeds; a rule's `not_found` is
   ignored), updates replace the whole object, and each run starts by bringing the ledger up
   to date with what is live (`_Book.reconcile`): owned ids gone live are dropped, and the
   digest of every owned object the plan leaves alone is taken again, so an update whose
   record was lost is not shown as drift later.
So the ledger is saved only before the first change, after each step and at the end.

Ctrl-C (`Interruption`): no request is started after it; the requests in flight finish and
are reported, the ledger is saved, and `ApplyInterrupted` says how many changes were made.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, replace
from typing import Callable, Mapping, Protocol

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.livekit.adapter import Conflict
from sipconf.livekit.ledger import Entry, Key, Ledger
from sipconf.livekit.wire import to_live
from sipconf.model import DesiredObject, DesiredState
from sipconf.model.kinds import INBOUND, RULE, object_id
from sipconf.plan.changes import CREATE, DELETE, SYMBOL, UPDATE, Change
from sipconf.plan.diff import desired_message
from sipconf.plan.inventory import Inventory, digest
from sipconf.plan.ledger_store import LedgerStore, LedgerWriter
from sipconf.plan.plan import Plan

DEFAULT_PARALLELISM = 8


class Writer(LedgerWriter, Protocol):
    """What the engine needs of the adapter (sipconf.livekit.adapter.LiveKitAdapter)."""


@dataclass
class Interruption:
    """Ctrl-C as the engine sees it.

    Until `writing` is set (just before the first write) nothing has changed, and the caller
    may simply cancel the apply. From then on `request()` asks the engine to start no new
    request; those in flight finish and are reported. `applied` and `total` count the plan's
    changes as they are made, for the line the command prints.
    """

    requested: bool = False
    writing: bool = False
    applied: int = 0
    total: int | None = None

    def request(self) -> None:
        self.requested = True


class ApplyInterrupted(Exception):
    """An apply stopped by Ctrl-C after every request in flight finished."""

    def __init__(self, applied: int, total: int | None) -> None:
        super().__init__(summary(applied, total))
        self.applied, self.total = applied, total


def summary(applied: int, total: int | None) -> str:
    """The one line an interrupted apply ends with: what was applied and what was not."""
    if total is None:
        return "Interrupted before the plan was made: nothing was changed."
    if applied == 0:
        return f"Interrupted: none of the {total} planned change(s) was applied; nothing was changed."
    if applied < total:
        return (
            f"Interrupted: applied {applied} of {total} change(s); {total - applied} not applied."
            " Run `sipconf apply` again to finish."
        )
    return f"Interrupted after all {total} change(s) were applied; the read-back was skipped."


async def apply_plan(
    plan: Plan,
    desired: DesiredState,
    inventory: Inventory,
    writer: Writer,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[str], None] = lambda line: None,
    parallelism: int = DEFAULT_PARALLELISM,
    interruption: Interruption | None = None,
) -> int:
    """Apply `plan` (computed against `inventory`); returns the number of changes made.

    Raises ApplyInterrupted when `interruption` stopped it early, and a UserError naming
    every request that failed (the others in flight finish first)."""
    run = _Run(plan, desired, inventory, writer, environ, progress, max(1, parallelism), interruption or Interruption())
    return await run.apply()


async def tidy_ledger(plan: Plan, desired: DesiredState, inventory: Inventory, writer: Writer) -> bool:
    """With nothing to apply, bring the ledger up to date anyway (an old format, shards left by
    a race or a kill, stale digests); True when it was saved."""
    book = _Book(inventory.ledger)
    book.reconcile(plan, _spec_index(desired), inventory)
    store = LedgerStore(inventory.project, inventory.ledger_trunks, writer)
    ledger = book.ledger(inventory.project)
    if not store.needs_save(ledger):
        return False
    await store.save(ledger)
    return True


class _Book:
    """The ledger being kept during one apply, mutable: owned entries by (kind, name), each
    id under one name only."""

    def __init__(self, ledger: Ledger) -> None:
        self.owned: dict[Key, Entry] = {}
        self.key_of: dict[str, Key] = {}  # live id -> (kind, name)
        self.pending: set[Key] = set(ledger.pending)
        self.version = 0  # moves on every change, so a save can tell whether one is due
        for entry in ledger.owned:
            self.own(entry)

    def own(self, entry: Entry) -> None:
        self.drop(entry.id)
        old = self.owned.get(entry.key)
        if old is not None:
            del self.key_of[old.id]
        self.owned[entry.key] = entry
        self.key_of[entry.id] = entry.key
        self.pending.discard(entry.key)
        self.version += 1

    def drop(self, live_id: str) -> None:
        key = self.key_of.pop(live_id, None)
        if key is not None:
            del self.owned[key]
        self.version += 1

    def expect(self, keys: list[Key]) -> None:
        self.pending.update(keys)
        self.version += 1

    def absorb(self, ledger: Ledger) -> None:
        """Take in what another writer's ledger added (what this book says is kept)."""
        for entry in ledger.owned:
            if entry.key not in self.owned and entry.id not in self.key_of:
                self.own(entry)
        self.pending |= set(ledger.pending) - set(self.owned)
        self.version += 1

    def ledger(self, project: str) -> Ledger:
        return Ledger(project, tuple(sorted(self.owned.values())), tuple(sorted(self.pending)))

    def reconcile(self, plan: Plan, spec: dict[Key, DesiredObject], inventory: Inventory) -> None:
        """Make the book say what is live now: adopted half-creates are owned, ids gone live
        are dropped, pending creates of an earlier run are settled, and every owned object the
        plan leaves alone gets its digest and the spec's secret references again."""
        live_ids = {o.id for o in inventory.objects}
        for live_id in [i for i in self.key_of if i not in live_ids]:
            self.drop(live_id)
        self.pending.clear()
        planned = {(c.kind, c.name) for c in plan.changes}
        for obj in inventory.objects:
            if not obj.owned:
                continue
            key = (obj.kind, obj.name)
            old = self.owned.get(key)
            if key in planned and old is not None and old.id == obj.id:
                continue  # the change records it
            if plan.picked is not None and key not in plan.picked and old is not None:
                continue  # left out by --only: its entry stays as it was, drift and all
            spec_obj = spec.get(key)
            refs = secret_refs(spec_obj) if spec_obj is not None and spec_obj.managed else (old.secrets if old else ())
            self.own(Entry(obj.kind, obj.name, obj.id, digest(obj.kind, obj.message, inventory.trunk_names), refs))
        self.version += 1


def secret_refs(obj: DesiredObject) -> tuple[tuple[str, str], ...]:
    """The spec's secret references of `obj` (`env:NAME`, `file:PATH`), never a value: literals
    are left out."""
    return tuple(sorted((path, ref.describe()) for path, ref in obj.secrets.items() if ref.env or ref.file))


def _spec_index(desired: DesiredState) -> dict[Key, DesiredObject]:
    return {(o.kind, o.name): o for o in desired.objects()}


class _Run:
    def __init__(
        self,
        plan: Plan,
        desired: DesiredState,
        inventory: Inventory,
        writer: Writer,
        environ: Mapping[str, str] | None,
        progress: Callable[[str], None],
        parallelism: int,
        interruption: Interruption,
    ) -> None:
        self.plan, self.inventory, self.writer, self.environ = plan, inventory, writer, environ
        self.spec = _spec_index(desired)
        self.progress, self.parallelism, self.interruption = progress, parallelism, interruption
        self.project = inventory.project
        self.book = _Book(inventory.ledger)
        self.store = LedgerStore(self.project, inventory.ledger_trunks, writer)
        self.saved_version = -1
        self.trunk_names = dict(inventory.trunk_names)  # inbound trunk id -> name
        self.trunk_ids = {o.name: o.id for o in inventory.objects if o.kind == INBOUND}
        self.total = len(plan.changes)
        self.done = 0
        self.failures: list[str] = []
        self.crash: BaseException | None = None

    @property
    def stopping(self) -> bool:
        return self.interruption.requested or bool(self.failures) or self.crash is not None or self.store.concurrent

    async def apply(self) -> int:
        self.interruption.total, self.interruption.applied = self.total, 0
        self.book.reconcile(self.plan, self.spec, self.inventory)
        self.book.expect([(c.kind, c.name) for c in self.plan.changes if c.action == CREATE])
        if self.interruption.requested:
            raise ApplyInterrupted(0, self.total)
        self.interruption.writing = True
        try:
            await self._save()  # the pending creates, before any of them is sent
            for step in _steps(self.plan.changes):
                if self.stopping:
                    break
                await self._step(step)
                if self.crash is None:
                    await self._save()
        finally:
            self.interruption.writing = False
        self._finish()
        return self.done

    def _finish(self) -> None:
        if self.crash is not None:
            raise self.crash  # a bug, or a test's simulated kill: nothing more is written
        if self.store.concurrent:
            self.failures.append(
                f"another sipconf apply wrote the ledger of project {self.project!r} while this one ran (the apply"
                f" lock did not keep them apart); this one stopped after {self.done} of {self.total} change(s),"
                " with both applies' objects kept in the ledger; run it again once the other has finished"
            )
        if self.failures:
            raise UserError(*dict.fromkeys(self.failures))
        if self.interruption.requested and self.done < self.total:
            raise ApplyInterrupted(self.done, self.total)

    async def _save(self) -> None:
        """Store the book when it changed since the last save (an empty apply writes nothing)."""
        if self.book.version == self.saved_version:
            return
        ledger = self.book.ledger(self.project)
        if self.store.needs_save(ledger):
            stored = await self.store.save(ledger)
            if stored != ledger:
                self.book.absorb(stored)
        self.saved_version = self.book.version

    # -- one step: its changes `parallelism` at a time, conflicts retried after the others ----
    async def _step(self, step: list[Change]) -> None:
        """Within one step (say, all inbound trunk updates) a write LiveKit refuses as a
        conflict is retried after the others: moving a number from trunk B to trunk A works
        once B has let go of it, whatever the order. A round in which every write conflicts
        is a true conflict, or a swap no order can do."""
        waiting = list(step)
        while waiting and not self.stopping:
            conflicts, untried = await self._round(waiting)
            if self.stopping or not conflicts:
                return
            if len(conflicts) < len(waiting) - len(untried):
                waiting = [change for change, _err in conflicts] + untried
                continue
            stuck, err = conflicts[0]
            if not _recreatable(stuck):
                self.failures.append(err.lines[0])
                return
            # Rules that swap numbers (or PINs) conflict in every order. Nothing refers to a
            # rule's id, so one of them is deleted now and created again after the others
            # have moved, which breaks the cycle.
            note = await self._release(stuck)
            self.progress(f"[{self.done}/{self.total}] ~ {stuck.kind} {stuck.name}: {note}")
            waiting = [change for change, _err in conflicts[1:]] + untried + [replace(stuck, action=CREATE, live_id=None)]

    async def _round(self, changes: list[Change]) -> tuple[list[tuple[Change, Conflict]], list[Change]]:
        queue = deque(changes)
        conflicts: list[tuple[Change, Conflict]] = []

        async def worker() -> None:
            while queue and not self.stopping:
                change = queue.popleft()
                try:
                    done = await self._one(change)
                except Conflict as err:
                    conflicts.append((change, err))
                    continue
                except UserError as err:
                    self.failures.extend(err.lines)
                    return
                except Exception as exc:  # noqa: BLE001 - recorded, re-raised once the others finish
                    self.crash = self.crash or exc
                    return
                self.done += 1
                self.interruption.applied = self.done
                self.progress(f"[{self.done}/{self.total}] {SYMBOL[change.action]} {change.kind} {change.name}: {done}")

        await asyncio.gather(*(worker() for _ in range(min(self.parallelism, len(changes)))))
        return conflicts, list(queue)

    async def _one(self, change: Change) -> str:
        if change.action == DELETE:
            await self.writer.delete(change.kind, change.live_id)
            self.book.drop(change.live_id)
            return f"deleted {change.live_id}"
        obj = self.spec.get((change.kind, change.name))
        if obj is None:
            raise UserError(f"the plan {change.action}s {change.kind} {change.name!r}, which the spec does not define")
        if not obj.managed:
            raise UserError(f"the plan {change.action}s {change.kind} {change.name!r}, which the spec marks `managed: false`")
        body = to_live(change.kind, change.name, desired_message(obj, self.environ), self.trunk_ids)
        if change.action == CREATE:
            result = await self.writer.create(change.kind, body)
            verb = "created"
        else:
            result = await self.writer.replace(change.kind, change.live_id, body)
            verb = "updated"
        live_id = object_id(change.kind, result)
        if change.kind == INBOUND:
            self.trunk_ids[change.name] = live_id
            self.trunk_names[live_id] = change.name
        self.book.own(Entry(change.kind, change.name, live_id, digest(change.kind, result, self.trunk_names), secret_refs(obj)))
        return f"{verb} {live_id}"

    async def _release(self, change: Change) -> str:
        """Delete a rule that will be created again. The ledger marks it pending first, so a run
        killed in between creates it on the next apply instead of losing or doubling it."""
        self.book.drop(change.live_id)
        self.book.expect([(change.kind, change.name)])
        await self._save()
        await self.writer.delete(change.kind, change.live_id)
        return f"deleted {change.live_id} to break a conflict cycle; it is created again below"


def _recreatable(change: Change) -> bool:
    return change.action == UPDATE and change.kind == RULE


def _steps(changes: tuple[Change, ...]) -> list[list[Change]]:
    """Consecutive changes of one (action, kind): the plan is already in apply order."""
    steps: list[list[Change]] = []
    for change in changes:
        if steps and (steps[-1][0].action, steps[-1][0].kind) == (change.action, change.kind):
            steps[-1].append(change)
        else:
            steps.append([change])
    return steps
