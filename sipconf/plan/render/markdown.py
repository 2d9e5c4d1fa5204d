"""The markdown plan, for a pull-request comment.

It starts with a hidden marker so a CI helper can find and update one comment instead of
posting a new one on every push (octoDNS PR #156, solvaholic/octodns-sync #35).
"""

from __future__ import annotations

from sipconf.plan.impact import group_route_changes
from sipconf.plan.plan import Plan
from sipconf.plan.render.text import heading, summary_line
from sipconf.plan.render.values import field_lines

MARKER = "<!-- sipconf/plan -->"


class MarkdownRenderer:
    def render(self, plan: Plan) -> str:
        env = f", environment `{plan.environment}`" if plan.environment else ""
        lines = [MARKER, f"### sipconf plan: project `{plan.project}`{env}", "", f"Target: `{plan.url}`", ""]
        lines.append(f"**{summary_line(plan)}**")
        if plan.changes:
            lines += ["", "```diff"]
            for change in plan.changes:
                lines.append(heading(change))
                if change.action != "delete":
                    lines += [f"{sym}   {text}" for f in change.fields for sym, text in field_lines(f, change.action)]
            lines.append("```")
        if plan.route_changes:
            lines += ["", "#### Route impact", "", "| Number | Before | After |", "|---|---|---|"]
            for group in group_route_changes(plan.route_changes):
                lines.append(f"| `{group.label}` | {group.before.describe()} | {group.after.describe()} |")
        if plan.unmanaged:
            lines += ["", "<details><summary>Unmanaged objects (never changed)</summary>", ""]
            for note in plan.unmanaged:
                where = f" `{note.live_id}`" if note.live_id else ""
                lines.append(f"- {note.kind} `{note.name}`{where}: {note.describe}")
                lines += [f"  - `{sym} {text}`" for f in note.fields for sym, text in field_lines(f, "update")]
            lines += ["", "</details>"]
        reasons = plan.force_reasons()
        if reasons:
            lines += ["", "> **Needs `--force`:**"] + [f"> - {r}" for r in reasons]
        return "\n".join(lines) + "\n"
