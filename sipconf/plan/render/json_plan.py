"""The JSON plan (schema: docs/plan-json.md). `format_version` changes on any breaking change."""

from __future__ import annotations

import json
from typing import Any

from sipconf import __version__
from sipconf.plan.labels import DEFAULT_IMPACT_ROWS, capped
from sipconf.plan.plan import Plan

FORMAT_VERSION = 2


def plan_document(plan: Plan, *, impact_rows: int | None = None) -> dict[str, Any]:
    """The plan as JSON; `impact_rows` caps route impact as the text plan does (None: all)."""
    rows, omitted = capped(plan.route_changes, impact_rows)
    return {
        "format_version": FORMAT_VERSION,
        "sipconf_version": __version__,
        "target": {"url": plan.url},
        "project": plan.project,
        "environment": plan.environment,
        "spec": plan.spec,
        "live_checksum": plan.live_checksum,
        "managed_count": plan.managed_count,
        "summary": plan.summary(),
        "no_op": plan.empty,
        "requires_force": plan.force_reasons(),
        "changes": [c.to_json() for c in plan.changes],
        "route_impact": [r.to_json() for r in rows],
        "route_impact_omitted": omitted,
        "unmanaged": [u.to_json() for u in plan.unmanaged],
        "only": {
            "names": list(plan.only),
            "dependents": [d.to_json() for d in plan.dependents],
            "left_out": plan.left_out,
        } if plan.only else None,
    }


class JsonRenderer:
    def __init__(self, *, impact_rows: int | None = DEFAULT_IMPACT_ROWS) -> None:
        self.impact_rows = impact_rows

    def render(self, plan: Plan) -> str:
        return json.dumps(plan_document(plan, impact_rows=self.impact_rows), indent=2, sort_keys=True) + "\n"
