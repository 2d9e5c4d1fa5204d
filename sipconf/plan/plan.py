"""The plan value: what would change, where numbers would route, and what needs `--force`.

A plan is computed from a desired state and the live state it was diffed against; the
checksum of that live state travels with it, so `apply PLANFILE` can refuse a plan whose
ground moved (octoDNS `--checksum`, Terraform saved plans). So does a keyed checksum of the
secrets it would write (sipconf.plan.secrets): never rendered, only kept in a saved plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sipconf.model import DesiredState
from sipconf.plan.changes import CREATE, DELETE, UPDATE, Change, RouteChange, Unmanaged
from sipconf.model.kinds import ID_FIELD, INBOUND, RULE
from sipconf.plan.diff import Side, diff, has_changes, live_message
from sipconf.plan.impact import route_impact
from sipconf.plan.inventory import Inventory, live_checksum
from sipconf.plan.labels import row_label
from sipconf.plan.only import Dependent, Selection, dependents, select
from sipconf.plan.ranges import sort_key
from sipconf.plan.secrets import secrets_checksum
from sipconf.routing.numbers import normalize_number

# octoDNS Plan.MAX_SAFE_DELETE_PCENT: `--force` is needed when a plan deletes more than 30% of
# the managed objects, or when it unroutes numbers that were routed.
MAX_SAFE_DELETE_FRACTION = 0.3
# A reason is one line: past this many unrouting rows it counts the rest.
REASON_ROWS = 3


@dataclass(frozen=True)
class Plan:
    url: str
    project: str
    environment: str | None
    changes: tuple[Change, ...]
    unmanaged: tuple[Unmanaged, ...] = ()
    route_changes: tuple[RouteChange, ...] = ()
    live_checksum: str = ""
    managed_count: int = 0
    spec: str = ""
    desired: DesiredState | None = field(default=None, compare=False)
    secrets_checksum: str = field(default="", repr=False)
    only: tuple[str, ...] = ()  # `--only` names; empty: the whole spec
    dependents: tuple[Dependent, ...] = ()  # left out by --only, but using a picked trunk
    left_out: int = 0  # changes of the whole spec that --only left out
    picked: frozenset[tuple[str, str]] | None = field(default=None, compare=False, repr=False)

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run() formats the repr of the task's result when it puts back
        # the SIGINT handler, and a plan of thousands of objects took a second to spell out.
        return f"Plan(project={self.project!r}, url={self.url!r}, changes={len(self.changes)})"

    @property
    def empty(self) -> bool:
        return not self.changes

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> dict[str, int]:
        return {
            "create": self.count(CREATE),
            "update": self.count(UPDATE),
            "delete": self.count(DELETE),
            "unmanaged": len(self.unmanaged),
        }

    def force_reasons(self) -> list[str]:
        """Why this plan needs `--force` (empty when it does not), one line each."""
        reasons = []
        deletes = self.count(DELETE)
        if self.managed_count and deletes / self.managed_count > MAX_SAFE_DELETE_FRACTION:
            pct = 100.0 * deletes / self.managed_count
            reasons.append(
                f"the plan deletes {deletes} of {self.managed_count} managed objects ({pct:.0f}%, over 30%)"
            )
        unrouting = unrouted(self.route_changes)
        if unrouting:
            count = len({normalize_number(n) for row in unrouting for n in row.numbers})
            runs = ", ".join(row_label(row) for row in unrouting[:REASON_ROWS])
            more = f", … and {len(unrouting) - REASON_ROWS} more" if len(unrouting) > REASON_ROWS else ""
            reasons.append(f"the plan unroutes {count} routed number(s): {runs}{more}")
        return reasons


def unrouted(rows: tuple[RouteChange, ...]) -> list[RouteChange]:
    """The rows that unroute, merged per source and caller whatever they routed to before:
    what `--force` is about is which calls stop reaching a room."""
    merged: dict[tuple, RouteChange] = {}
    for row in rows:
        if row.unroutes:
            key = (row.sources, row.callers)
            known = merged.get(key)
            numbers = row.numbers if known is None else known.numbers + row.numbers
            merged[key] = RouteChange(numbers, row.before, row.after, row.sources, row.callers)
    return [
        RouteChange(tuple(sorted(set(r.numbers), key=lambda n: sort_key(normalize_number(n)))), r.before, r.after, r.sources, r.callers)
        for r in merged.values()
    ]


def make_plan(
    desired: DesiredState,
    inventory: Inventory,
    *,
    url: str,
    key: str,
    environ: Mapping[str, str] | None = None,
    only: tuple[str, ...] = (),
) -> Plan:
    """Diff `desired` against the live `inventory`; `key` (the API secret) keys fingerprints.
    `only`: the `--only` names; the plan then changes those objects and nothing else."""
    changes, notes, before, after = diff(desired, inventory, key=key, environ=environ)
    changes = [c for c in changes if c.action != UPDATE or has_changes(c.fields)]
    selection = None
    if only:
        selection = select(only, desired, [(o.kind, o.name) for o in inventory.owned()])
        whole = len(changes)
        changes, after = _picked(changes, before, after, selection)
        extra = dict(
            only=selection.names, dependents=dependents(selection, _rules(desired, inventory)),
            left_out=whole - len(changes), picked=selection.keys,
        )
    else:
        extra = {}
    return Plan(
        url=url,
        project=desired.project,
        environment=desired.environment,
        changes=tuple(changes),
        unmanaged=tuple(notes),
        route_changes=route_impact(before, after),
        live_checksum=live_checksum(inventory.live),
        managed_count=len(inventory.owned()),
        spec=desired.source,
        desired=desired,
        secrets_checksum=secrets_checksum(desired, key=key, environ=environ),
        **extra,
    )


def _picked(changes: list[Change], before: Side, after: Side, selection: Selection) -> tuple[list[Change], Side]:
    """The changes `--only` picks, and the live project as it would be after just those: what
    is not picked stays as it is live (so route impact shows only what the picked change does)."""
    kept = [c for c in changes if selection.picks(c.kind, c.name)]

    def side(kind: str, wanted: tuple, live: tuple) -> tuple:
        merged = [m for m in wanted if selection.picks(kind, m.name)] + [m for m in live if not selection.picks(kind, m.name)]
        return tuple(sorted(merged, key=lambda m: getattr(m, ID_FIELD[kind])))  # as the diff orders a side

    return kept, Side(side(INBOUND, after.trunks, before.trunks), side(RULE, after.rules, before.rules))


def _rules(desired: DesiredState, inventory: Inventory) -> list:
    """Every dispatch rule by spec name, in name space: the spec's, then the live ones it lacks."""
    rules = [(o.name, o.message) for o in desired.rules]
    named = {name for name, _m in rules}
    rules += [(o.name, live_message(inventory, RULE, o.message)) for o in inventory.objects if o.kind == RULE and o.name not in named]
    return rules
