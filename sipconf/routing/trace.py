"""A decision and the step-by-step reasons behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Iterable, TypeVar

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


class _Dropped(list):
    """The trace of a decision nobody will read: lines handed to it are not kept."""

    def append(self, line: str) -> None:
        pass

    def extend(self, lines: Iterable[str]) -> None:
        pass


def new_trace(with_trace: bool) -> list[str]:
    """Where a decision collects its reasons: a list, or (no trace asked for) a sink.

    Routing a call should not pay for strings nobody reads, so formatted lines are also
    guarded by `if with_trace:`; the sink catches the fixed ones.
    """
    return [] if with_trace else _Dropped()
