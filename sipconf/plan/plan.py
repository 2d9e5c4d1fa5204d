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
from sipconf.plan.diff import diff, has_changes
from sipconf.plan.impact import route_impact
from sipconf.plan.inventory import Inventory, live_checksum
from sipconf.plan.labels import row_label
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
) -> Plan:
    """Diff `desired` against the live `inventory`; `key` (the API secret) keys fingerprints."""
    changes, notes, before, after = diff(desired, inventory, key=key, environ=environ)
    changes = [c for c in changes if c.action != UPDATE or has_changes(c.fields)]
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
    )
