"""Plan renderers: a `Renderer` protocol and a plain dict of them.

Each says the same: the changes, route impact capped at the same number of rows (`--impact`),
the unmanaged objects and what needs `--force`.
"""

from __future__ import annotations

from typing import Protocol

from sipconf.plan.plan import Plan
from sipconf.plan.render.json_plan import JsonRenderer
from sipconf.plan.render.markdown import MarkdownRenderer
from sipconf.plan.render.text import TextRenderer


class Renderer(Protocol):
    def render(self, plan: Plan) -> str: ...


RENDERERS: dict[str, type[Renderer]] = {
    "text": TextRenderer,
    "markdown": MarkdownRenderer,
    "json": JsonRenderer,
}


def make_renderer(name: str, *, impact_rows: int | None, out: str | None = None) -> Renderer:
    """The renderer called `name`; markdown also names the `--out` file when it is cut short."""
    if name == "markdown":
        return MarkdownRenderer(impact_rows=impact_rows, out=out)
    return RENDERERS[name](impact_rows=impact_rows)
