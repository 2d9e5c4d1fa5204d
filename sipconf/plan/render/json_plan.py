"""The JSON plan (schema: docs/plan-json.md). `format_version` changes on any breaking change."""

from __future__ import annotations

import json
from typing import Any

from sipconf import __version__
from sipconf.plan.plan import Plan

FORMAT_VERSION = 1


def plan_document(plan: Plan) -> dict[str, Any]:
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
        "route_impact": [r.to_json() for r in plan.route_changes],
        "unmanaged": [u.to_json() for u in plan.unmanaged],
    }


class JsonRenderer:
    def render(self, plan: Plan) -> str:
        return json.dumps(plan_document(plan), indent=2, sort_keys=True) + "\n"
