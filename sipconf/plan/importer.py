"""`sipconf import`: read the live project, optionally adopt objects, and write a spec.

Adopting records objects in the project's ownership ledger (docs/ownership.md) under the
apply lock, so an import never races an apply.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

from sipconf.errors import UserError
from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.inventory import Inventory, classify, digest
from sipconf.livekit.ledger import Entry, Ledger, LedgerError, is_ledger, ledger_trunk
from sipconf.livekit.target import Target
from sipconf.livekit.to_spec import Imported, import_spec
from sipconf.livekit.translate import OUTBOUND
from sipconf.plan.lock import apply_lock

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
                if bytes(ledger) != bytes(inventory.ledger):
                    if inventory.ledger_id is None:
                        await lk.create(OUTBOUND, ledger_trunk(ledger))
                    else:
                        await lk.replace(OUTBOUND, inventory.ledger_id, ledger_trunk(ledger))
                inventory = classify(await lk.fetch(), chosen)
    return import_spec(inventory, {o.id for o in inventory.owned()})


def render_yaml(result: Imported) -> str:
    """The managed objects as a spec; unowned objects follow as a commented-out section, so
    they are documented but never become managed by accident (adopt them with --adopt)."""
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    out = io.StringIO()
    out.write("# Written by `sipconf import`. Secrets are {env: NAME} references.\n")
    yaml.dump(_plain(result.managed), out)
    extra = {k: v for k, v in result.unmanaged.items() if k in ("trunks", "dispatch_rules")}
    if extra:
        section = io.StringIO()
        yaml.dump(_plain(extra), section)
        out.write(
            "\n# Unmanaged: live objects sipconf does not own. sipconf never changes them; to manage\n"
            "# one, run `sipconf import --adopt NAME` and move it into the spec above.\n"
        )
        out.writelines(f"# {line}\n" if line else "#\n" for line in section.getvalue().splitlines())
    return out.getvalue()


def _plain(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _plain(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_plain(v) for v in doc]
    return doc
