"""The markdown plan, for a pull-request comment: valid CommonMark, under GitHub's limit.

It starts with a hidden marker so a CI helper can find and update one comment instead of
posting a new one on every push (octoDNS PR #156, solvaholic/octodns-sync #35). It says what
the text plan says, in the same order (what needs `--force` first, since a reviewer must see
it), with every value escaped (sipconf.plan.render.commonmark). A GitHub comment holds at most
65,536 characters: a longer plan stops before that, says so, and names the `--out` file that
holds all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipconf.plan.labels import DEFAULT_IMPACT_ROWS, callers_label, capped, numbers_label
from sipconf.plan.plan import Plan
from sipconf.plan.render.commonmark import cell, code, escape, fence
from sipconf.plan.render.text import change_lines, comment, heading, only_lines, summary_line
from sipconf.plan.render.values import update_lines

MARKER = "<!-- sipconf/plan -->"
COMMENT_LIMIT = 65_536
# Room kept for the closing lines of a cut section and the note that says where the rest is.
_RESERVE = 1_000


@dataclass
class Block:
    """A section: lines that always stand, `items` that can be left out from the end, and
    `tail` that closes it (a code fence, `</details>`)."""

    head: list[str]
    items: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)


class MarkdownRenderer:
    def __init__(
        self, *, impact_rows: int | None = DEFAULT_IMPACT_ROWS, out: str | None = None, limit: int = COMMENT_LIMIT
    ) -> None:
        self.impact_rows = impact_rows
        self.out = out
        self.limit = limit

    def render(self, plan: Plan) -> str:
        blocks = [self._top(plan), *self._changes(plan), *self._impact(plan), *self._unmanaged(plan)]
        full = _join(blocks)
        if len(full) <= self.limit:
            return full
        return self._cut(blocks, len(full))

    # -- sections ----------------------------------------------------------------------------

    def _top(self, plan: Plan) -> Block:
        env = f", environment {code(plan.environment)}" if plan.environment else ""
        lines = [MARKER, f"### sipconf plan: project {code(plan.project)}{env}", "", f"Target: {code(plan.url)}", ""]
        lines.append(f"**{escape(summary_line(plan))}**")
        lines += [escape(line) if line else line for line in only_lines(plan)]
        reasons = plan.force_reasons()
        if reasons:
            lines += ["", "> **Needs `--force`:**"] + [f"> - {escape(r)}" for r in reasons]
        return Block(lines)

    def _changes(self, plan: Plan) -> list[Block]:
        if not plan.changes:
            return []
        lines = []
        for change in plan.changes:
            lines.append(heading(change))
            lines += [f"{line.symbol}   {line.text}{comment(line.origin)}" for line in change_lines(change)]
        fenced = fence(lines, "diff")
        return [Block(["", fenced[0]], fenced[1:-1], fenced[-1:])]

    def _impact(self, plan: Plan) -> list[Block]:
        if not plan.route_changes:
            return []
        rows, more = capped(plan.route_changes, self.impact_rows)
        head = ["", "#### Route impact (inbound calls)", "", "| Numbers | From | Before | After |", "|---|---|---|---|"]
        items = [
            f"| {cell(numbers_label(row.numbers))} | {cell(_from(row))} | {cell(row.before.describe())}"
            f" | {cell(row.after.describe())} |"
            for row in rows
        ]
        blocks = [Block(head, items)]
        if more:
            blocks.append(Block(["", f"… and {more} more; `--impact all`"]))
        return blocks

    def _unmanaged(self, plan: Plan) -> list[Block]:
        if not plan.unmanaged:
            return []
        items = []
        for note in plan.unmanaged:
            live_id = f" {code(note.live_id)}" if note.live_id else ""
            owner = f", owned by sipconf project {code(note.owner)}" if note.owner else ""
            items.append(f"- {escape(note.path)}{live_id}: {escape(note.describe)}{owner}")
            items += [
                f"  - {code(f'{line.symbol} {line.text}{comment(line.origin)}')}"
                for f in note.fields
                for line in update_lines(f)
            ]
        return [Block(["", "<details><summary>Unmanaged objects (never changed)</summary>", ""], items, ["", "</details>"])]

    # -- GitHub's limit ----------------------------------------------------------------------

    def _cut(self, blocks: list[Block], size: int) -> str:
        """The blocks up to the limit, each closed, then a note naming where the rest is."""
        budget = self.limit - _RESERVE
        kept: list[Block] = []
        used = 0
        for block in blocks:
            fixed = _size(block.head) + _size(block.tail)
            if used + fixed > budget:
                break
            taken = []
            for item in block.items:
                if used + fixed + _size(taken) + len(item) + 1 > budget:
                    break
                taken.append(item)
            kept.append(Block(block.head, taken, block.tail))
            used += fixed + _size(taken)
            if len(taken) < len(block.items):
                break
        where = (
            f"The whole plan is in {code(self.out)}: {code(f'sipconf show {self.out} --impact all')} shows all of it."
            if self.out
            else "Save the whole plan with `sipconf plan --out FILE`."
        )
        note = (
            f"> **This plan is cut short:** all of it is {size:,} characters, over GitHub's"
            f" {COMMENT_LIMIT:,}-character comment limit. {where}"
        )
        return _join(kept + [Block(["", note])])


def _from(row) -> str:
    """Where the calls of a row come from: sources, callers, or any."""
    parts = []
    if row.sources is not None:
        parts.append(", ".join(s or "any source" for s in row.sources))
    if row.callers is not None:
        parts.append(callers_label(row))
    return "; ".join(parts) or "any"


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def _join(blocks: list[Block]) -> str:
    return "\n".join(line for b in blocks for line in b.head + b.items + b.tail) + "\n"
