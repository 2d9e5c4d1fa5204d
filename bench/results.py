"""bench/RESULTS.md is written by several benchmarks, each owning one section.

A section starts at its heading line and ends at the next heading of level 1 or 2, so the
hand-written subsections that follow a generated one (why a figure falls short, what was
fixed) are kept when the figures are written again. A section not in the file yet is added
at the end, or before another section when `before` names its heading.
"""

from __future__ import annotations

import re
from pathlib import Path

_NEXT_SECTION = re.compile(r"^#{1,2} ", re.M)


def replace_section(path: Path, title: str, body: str, *, before: str | None = None) -> None:
    """Write `body` (which starts with the `title` line) in place of the section `title`."""
    text = path.read_text() if path.exists() else ""
    path.write_text(with_section(text, title, body, before=before))


def with_section(text: str, title: str, body: str, *, before: str | None = None) -> str:
    body = body.rstrip("\n") + "\n"
    start = _heading(text, title)
    if start is None:
        at = _heading(text, before) if before else None
        if at is None:
            return (text.rstrip("\n") + "\n\n" if text.strip() else "") + body
        return text[:at] + body + "\n" + text[at:]
    following = _NEXT_SECTION.search(text, start + len(title))
    end = following.start() if following else len(text)
    return text[:start] + body + ("\n" + text[end:] if following else "")


def _heading(text: str, title: str) -> int | None:
    found = re.search(rf"^{re.escape(title)}[ \t]*$", text, re.M)
    return found.start() if found else None


def remove_section(path: Path, title: str) -> None:
    """Drop the section `title` (up to the next heading of level 1 or 2), if the file has it."""
    if not path.exists():
        return
    text = path.read_text()
    start = _heading(text, title)
    if start is None:
        return
    following = _NEXT_SECTION.search(text, start + len(title))
    path.write_text(text[:start] + (text[following.start():] if following else "").lstrip("\n"))
