"""The check objects. Add a check by writing a small class and listing it in DEFAULT_CHECKS."""

from __future__ import annotations

DEFAULT_CHECKS: tuple = ()
