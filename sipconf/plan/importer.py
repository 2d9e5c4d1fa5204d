"""`sipconf import`: read the live project, optionally adopt objects, and write a spec.

Adopting records objects in the project's ownership ledger (docs/ownership.md) under the
apply lock, so an import never races an apply.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from sipconf.errors import UserError
from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.ledger import Entry, Ledger, LedgerError, is_ledger
from sipconf.livekit.target import Target
from sipconf.plan.inventory import Inventory, classify, digest
from sipconf.plan.ledger_store import LedgerStore
from sipconf.plan.lock import apply_lock
from sipconf.plan.to_spec import Imported, import_spec

DEFAULT_PROJECT = "default"


def choose_project(live_outbound, project: str | None) -> str:
    if project:
        return project
    projects = set()
    for trunk in live_outbound:
        if is_ledger(trunk):
            try:
                projects.add(Ledger.parse(trunk.metadata).project)
            except LedgerError:
                continue
    if len(projects) > 1:
        raise UserError(f"the live project holds several sipconf projects ({', '.join(sorted(projects))}); pass --project")
    return projects.pop() if projects else DEFAULT_PROJECT


def adopt(inventory: Inventory, names: list[str]) -> Ledger:
    """The ledger with the named unowned objects (all of them when `names` is empty) owned."""
    ledger = inventory.ledger
    candidates = [o for o in inventory.objects if not o.owned]
    if names:
        known = {o.name for o in inventory.objects}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UserError(*(f"--adopt {n}: no live trunk or dispatch rule is named {n!r}" for n in unknown))
        candidates = [o for o in candidates if o.name in names]
    for obj in candidates:
        if obj.owner is not None:
            if names:
                raise UserError(f"--adopt {obj.name}: {obj.id} belongs to sipconf project {obj.owner!r}; import it there")
            continue
        twins = inventory.named(obj.kind, obj.name)
        if len(twins) > 1:
            inventory.one(obj.kind, obj.name)  # raises, naming both ids
        ledger = ledger.with_owned(Entry(obj.kind, obj.name, obj.id, digest(obj.kind, obj.message, inventory.trunk_names)))
    return ledger


async def import_live(target: Target, *, project: str | None = None, adopt_names: list[str] | None = None) -> Imported:
    """`adopt_names`: None = adopt nothing, [] = adopt everything, else these names."""
    async with LiveKitAdapter(target) as lk:
        live = await lk.fetch()
        chosen = choose_project(live.outbound, project)
        inventory = classify(live, chosen)
        if adopt_names is not None:
            async with apply_lock(lk, target.url):
                inventory = classify(await lk.fetch(), chosen)
                ledger = adopt(inventory, adopt_names)
                if ledger != inventory.ledger:
                    await LedgerStore(chosen, inventory.ledger_trunks, lk).save(ledger)
                inventory = classify(await lk.fetch(), chosen)
    return import_spec(inventory, {o.id for o in inventory.owned()})


UNMANAGED_COMMENT = "not owned by sipconf: never changed; `sipconf import --adopt {name}` to manage it"


def render_yaml(result: Imported) -> str:
    """The spec: every live object, those sipconf does not own marked `managed: false` with a
    short comment (a plan shows them as unmanaged and never changes them; --adopt takes them)."""
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    out = io.StringIO()
    out.write("# Written by `sipconf import`. Secrets are references ({env: NAME} or {file: PATH}), never values.\n")
    if result.unmanaged:
        out.write(
            "# Objects marked `managed: false` are live objects sipconf does not own: plans list them\n"
            "# as unmanaged and never change them. Run `sipconf import --adopt NAME` to manage one.\n"
        )
    doc = _commented(result.spec)
    for name, trunk in (doc.get("trunks") or {}).items():
        for body in trunk.values():
            _mark(body, name)
    for name, body in (doc.get("dispatch_rules") or {}).items():
        _mark(body, name)
    yaml.dump(doc, out)
    return out.getvalue()


def _mark(body: CommentedMap, name: str) -> None:
    if body.get("managed") is False:
        body.yaml_add_eol_comment(UNMANAGED_COMMENT.format(name=name), "managed")


def _commented(doc: Any) -> Any:
    if isinstance(doc, dict):
        out = CommentedMap()
        for k, v in doc.items():
            out[k] = _commented(v)
        return out
    if isinstance(doc, list):
        return [_commented(v) for v in doc]
    return doc
