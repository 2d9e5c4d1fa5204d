"""Errors the CLI reports as expected failures: one clear line each, exit 1, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """An expected failure. Each entry of `lines` is printed as one line."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines: tuple[str, ...] = lines
