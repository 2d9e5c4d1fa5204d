"""The text plan, with + ~ - as Terraform users expect; each object by its spec path, with its
LiveKit id once and its `file:line` in the spec."""

from __future__ import annotations

from sipconf.plan.changes import CREATE, DELETE, SYMBOL, Change
from sipconf.plan.labels import DEFAULT_IMPACT_ROWS, MORE_ROWS, capped, row_label
from sipconf.plan.plan import Plan
from sipconf.plan.render.values import Line, create_lines, update_lines, where


def heading(change: Change) -> str:
    """`~ trunks.twilio.inbound (ST_abc)  # spec.yaml:12`."""
    live_id = f" ({change.live_id})" if change.live_id else ""
    drift = ""
    if change.drift:
        drift = "  [drift: deleted outside sipconf]" if change.action == CREATE else "  [drift: edited outside sipconf]"
    return f"{SYMBOL[change.action]} {change.path}{live_id}{drift}{comment(change.origin)}"


def change_lines(change: Change) -> list[Line]:
    """A create shows each key of the object; an update what changed; a delete nothing more."""
    if change.action == CREATE:
        return create_lines(change.fields)
    if change.action == DELETE:
        return []
    return [line for field in change.fields for line in update_lines(field)]


def comment(origin: str | None) -> str:
    return f"  # {where(origin)}" if origin else ""


class TextRenderer:
    def __init__(self, *, impact_rows: int | None = DEFAULT_IMPACT_ROWS) -> None:
        self.impact_rows = impact_rows

    def render(self, plan: Plan) -> str:
        lines: list[str] = []
        for change in plan.changes:
            lines.append(heading(change))
            lines += [f"    {line.symbol} {line.text}{comment(line.origin)}" for line in change_lines(change)]
        if plan.route_changes:
            lines += ["", "Route impact (inbound calls):"]
            rows, more = capped(plan.route_changes, self.impact_rows)
            lines += [f"  {row_label(row)}: {row.before.describe()} -> {row.after.describe()}" for row in rows]
            if more:
                lines.append("  " + MORE_ROWS.format(more=more))
        lines += only_lines(plan)
        if plan.unmanaged:
            lines += ["", "Unmanaged (sipconf never changes these):"]
            for note in plan.unmanaged:
                owner = f", owned by sipconf project {note.owner}" if note.owner else ""
                live_id = f" ({note.live_id})" if note.live_id else ""
                lines.append(f"  {note.path}{live_id}: {note.describe}{owner}")
                for field in note.fields:
                    lines += [f"    {line.symbol} {line.text}{comment(line.origin)}" for line in update_lines(field)]
        for reason in plan.force_reasons():
            lines.append(f"Needs --force: {reason}")
        if lines:
            lines.append("")
        lines.append(summary_line(plan))
        return "\n".join(lines) + "\n"


def only_lines(plan: Plan) -> list[str]:
    """What `--only` picked and what it left alone: the rules that use a picked trunk."""
    if not plan.only:
        return []
    lines = ["", f"Only {', '.join(plan.only)} (--only): {left_out(plan)}."]
    if plan.dependents:
        lines.append("Not changed by --only, though they use a picked trunk:")
        lines += [f"  {d.describe()}" for d in plan.dependents]
    return lines


def left_out(plan: Plan) -> str:
    return f"{plan.left_out} other change(s) of the spec left out" if plan.left_out else "no other change in the spec"


def summary_line(plan: Plan) -> str:
    if plan.empty:
        if plan.only:
            return f"No changes to {', '.join(plan.only)}; {left_out(plan)}."
        return "No changes. The live project matches the spec."
    s = plan.summary()
    return f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete."
