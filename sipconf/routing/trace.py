"""A decision and the step-by-step reasons behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sipconf.routing.errors import LiveKitError

T = TypeVar("T")


@dataclass(frozen=True)
class Decision(Generic[T]):
    """What the engine decided (`value`), or why it refused (`error`), and how (`trace`)."""

    value: T | None
    error: LiveKitError | None = None
    trace: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None
