"""Text that stays text in CommonMark (and GitHub's flavour of it): escapes, code spans, fences.

A room pattern such as `nurse_<caller>_<random>` written as is into markdown is read as raw
HTML, and GitHub drops it; `_` and `*` start emphasis, `|` splits a table cell, `$` starts
math on GitHub, `@` a mention. CommonMark lets any ASCII punctuation be escaped with a
backslash (spec 0.31, "Backslash escapes"), so `escape` escapes each character that can start
something inline; text written here never starts a line, so line-start markers (`-`, `1.`)
need nothing. Code spans and fences are sized to be longer than any run of backticks inside
them ("Code spans", "Fenced code blocks").
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$!#@])")
_TICKS = re.compile(r"`+")


def escape(text: str) -> str:
    """`text` as inline markdown that renders as exactly `text`."""
    return _SPECIAL.sub(r"\\\1", text)


def cell(text: str) -> str:
    """A table cell: escaped, with line breaks as spaces (a cell is one line)."""
    return escape(" ".join(text.splitlines()))


def code(text: str) -> str:
    """An inline code span holding `text` literally (only outside tables: GitHub splits a table
    cell on `|` even inside a code span)."""
    longest = max((len(m) for m in _TICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(lines: list[str], info: str = "") -> list[str]:
    """A fenced code block around `lines`, its fence longer than any backtick run in them."""
    longest = max((len(m) for line in lines for m in _TICKS.findall(line)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [ticks + info, *lines, ticks]
