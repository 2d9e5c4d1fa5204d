"""The text plan, with + ~ - as Terraform users expect."""

from __future__ import annotations

from sipconf.plan.changes import SYMBOL, Change
from sipconf.plan.impact import group_route_changes
from sipconf.plan.plan import Plan
from sipconf.plan.render.values import field_lines


def heading(change: Change) -> str:
    where = f" ({change.live_id})" if change.live_id else ""
    drift = "  [drift: edited outside sipconf]" if change.drift and change.action == "update" else ""
    if change.drift and change.action == "create":
        drift = "  [drift: deleted outside sipconf]"
    return f'{SYMBOL[change.action]} {change.kind} "{change.name}"{where}{drift}'


class TextRenderer:
    def render(self, plan: Plan) -> str:
        lines: list[str] = []
        for change in plan.changes:
            lines.append(heading(change))
            if change.action != "delete":
                for field in change.fields:
                    lines += [f"    {symbol} {text}" for symbol, text in field_lines(field, change.action)]
        if plan.route_changes:
            lines += ["", "Route impact (inbound calls):"]
            for group in group_route_changes(plan.route_changes):
                lines.append(f"  {group.label}: {group.before.describe()} -> {group.after.describe()}")
        if plan.unmanaged:
            lines += ["", "Unmanaged (sipconf never changes these):"]
            for note in plan.unmanaged:
                owner = f", owned by sipconf project {note.owner}" if note.owner else ""
                where = f" ({note.live_id})" if note.live_id else ""
                lines.append(f'  {note.kind} "{note.name}"{where}: {note.describe}{owner}')
                for field in note.fields:
                    lines += [f"    {symbol} {text}" for symbol, text in field_lines(field, "update")]
        for reason in plan.force_reasons():
            lines.append(f"Needs --force: {reason}")
        if lines:
            lines.append("")
        lines.append(summary_line(plan))
        return "\n".join(lines) + "\n"


def summary_line(plan: Plan) -> str:
    if plan.empty:
        return "No changes. The live project matches the spec."
    s = plan.summary()
    return f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete."
