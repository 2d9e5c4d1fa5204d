"""A problem found in a spec or a scenario: level, stable kebab-case code, text, position.

Loading, normalisation and the static checks all report `Issue`s; they are collected and
reported once at the boundary (one line each), never raised one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sipconf.model import Origin

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    level: Level
    code: str
    message: str
    origin: Origin | None = None

    def __str__(self) -> str:
        where = f"{self.origin}: " if self.origin else ""
        return f"{where}{self.level}: {self.message} [{self.code}]"

    def to_json(self) -> dict:
        out: dict = {"level": self.level, "code": self.code, "message": self.message}
        if self.origin:
            out.update(file=self.origin.file, line=self.origin.line, col=self.origin.col)
        return out


def sort_issues(issues: list[Issue]) -> list[Issue]:
    """Errors first, then by position, then by code: a stable order for output and tests."""
    return sorted(issues, key=lambda i: (i.level != "error", i.origin or Origin("", 0, 0), i.code, i.message))
