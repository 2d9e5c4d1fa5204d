"""Plan and apply against a target: the async steps the `plan` and `apply` commands run.

Kept out of the commands so the CLI stays thin, and parameterised by an adapter factory so
tests can inject a failing adapter (an interrupted apply) over the same real HTTP client.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

from sipconf.errors import UserError
from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.target import Target
from sipconf.model import DesiredState
from sipconf.plan.changes import UPDATE
from sipconf.plan.diff import diff, has_changes
from sipconf.plan.engine import DEFAULT_PARALLELISM, ApplyInterrupted, Interruption, apply_plan, tidy_ledger
from sipconf.plan.inventory import Inventory, classify, live_checksum
from sipconf.plan.lock import NO_WAIT, LockWait, apply_lock
from sipconf.plan.plan import Plan, make_plan
from sipconf.plan.render.json_plan import plan_document

AdapterFactory = Callable[[Target], LiveKitAdapter]


async def read_inventory(adapter: LiveKitAdapter, project: str) -> Inventory:
    return classify(await adapter.fetch(), project)


async def plan_against(
    desired: DesiredState,
    target: Target,
    *,
    environ: Mapping[str, str] | None = None,
    adapter_factory: AdapterFactory = LiveKitAdapter,
    only: tuple[str, ...] = (),
) -> Plan:
    async with adapter_factory(target) as lk:
        inventory = await read_inventory(lk, desired.project)
    return make_plan(desired, inventory, url=target.url, key=target.api_secret, environ=environ, only=only)


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan  # what was applied (empty: nothing to do)
    applied: int
    remaining: Plan | None  # the re-plan after applying; None when nothing was applied
    ledger_saved: bool = False  # an apply with nothing to change brought the ledger up to date


async def apply_against(
    desired: DesiredState,
    target: Target,
    *,
    saved: Plan | None = None,
    force: bool = False,
    confirm: Callable[[Plan], bool | Awaitable[bool]] = lambda plan: True,
    progress: Callable[[str], None] = lambda line: None,
    environ: Mapping[str, str] | None = None,
    adapter_factory: AdapterFactory = LiveKitAdapter,
    lock_dir: str | None = None,
    parallelism: int = DEFAULT_PARALLELISM,
    interruption: Interruption | None = None,
    lock_wait: LockWait = NO_WAIT,
    only: tuple[str, ...] = (),
) -> ApplyResult:
    """Lock, plan (or check the saved plan), confirm, apply, then read back and re-plan.

    Raises ApplyInterrupted when `interruption` was requested, once every request in flight
    has finished (even after the last change: the read-back is then skipped). `only`: the
    `--only` names (a saved plan keeps its own)."""
    interruption = interruption or Interruption()
    only = saved.only if saved is not None else only
    async with adapter_factory(target) as lk:
        async with apply_lock(lk, target.url, lock_dir=lock_dir, wait=lock_wait):
            inventory = await read_inventory(lk, desired.project)
            plan = make_plan(desired, inventory, url=target.url, key=target.api_secret, environ=environ, only=only)
            if saved is not None:
                _check_saved(saved, plan)
            if plan.empty:
                return ApplyResult(plan, 0, None, await tidy_ledger(plan, desired, inventory, lk))
            reasons = plan.force_reasons()
            if reasons and not force:
                raise UserError(*(f"refusing to apply without --force: {r}" for r in reasons))
            approved = confirm(plan)
            if inspect.isawaitable(approved):
                approved = await approved
            if not approved:
                raise UserError("apply cancelled; nothing was changed")
            applied = await apply_plan(
                plan, desired, inventory, lk, environ=environ, progress=progress,
                parallelism=parallelism, interruption=interruption,
            )
            if interruption.requested:
                raise ApplyInterrupted(applied, len(plan.changes))
            after = await read_inventory(lk, desired.project)
            return ApplyResult(plan, applied, _replan(desired, after, target, environ, only))


def _replan(
    desired: DesiredState, after: Inventory, target: Target, environ: Mapping[str, str] | None, only: tuple[str, ...]
) -> Plan:
    """The read-back: the plan of what still differs. Its route impact (the costly part of a
    plan, and empty when nothing differs) is worked out only when something does."""
    if only:  # what still differs among the picked objects only
        return make_plan(desired, after, url=target.url, key=target.api_secret, environ=environ, only=only)
    changes, notes, _before, _after = diff(desired, after, key=target.api_secret, environ=environ)
    if any(c.action != UPDATE or has_changes(c.fields) for c in changes):
        return make_plan(desired, after, url=target.url, key=target.api_secret, environ=environ)
    return Plan(
        url=target.url,
        project=desired.project,
        environment=desired.environment,
        changes=(),
        unmanaged=tuple(notes),
        live_checksum=live_checksum(after.live),
        managed_count=len(after.owned()),
        spec=desired.source,
        desired=desired,
    )


def _check_saved(saved: Plan, fresh: Plan) -> None:
    """A saved plan applies only to the live state it was computed against (Terraform, octoDNS),
    with the secrets it was made with (sipconf.plan.secrets), making the changes it shows."""
    if saved.live_checksum != fresh.live_checksum:
        raise UserError(
            f"the live project changed since this plan was made ({saved.live_checksum[:19]} is now"
            f" {fresh.live_checksum[:19]}); run `sipconf plan --out` again"
        )
    if saved.secrets_checksum != fresh.secrets_checksum:
        raise UserError(
            "a secret (a password or a PIN) is not the one this plan was made with; run `sipconf plan --out` again"
        )
    if _substance(saved) != _substance(fresh):
        raise UserError("this plan no longer matches the spec's objects; run `sipconf plan --out` again")


def _substance(plan: Plan) -> list[dict]:
    """The changes without spec origins: a saved plan keeps each object's origin but not each
    field's, and an edit that only moves lines changes no write."""
    changes = plan_document(plan)["changes"]
    for change in changes:
        change["origin"] = None
        for field in change["fields"]:
            field["origin"] = None
    return changes
