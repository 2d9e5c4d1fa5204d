"""Plan renderers: a `Renderer` protocol and a plain dict of them."""

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
