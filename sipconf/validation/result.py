"""A validation verdict: the first hard error and the soft errors found before it.

Every check module of this package returns one; this module imports nothing else of the
package, so any of them can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from sipconf.routing.errors import INVALID_ARGUMENT, LiveKitError


@dataclass(frozen=True)
class Validation:
    """The first hard error (None when valid) and the soft errors found before it."""

    error: LiveKitError | None = None
    soft: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


def invalid(message: str) -> LiveKitError:
    """A validation failure as the API reports it: plain Go errors from LiveKit's checks
    reach API clients as `invalid_argument`."""
    return LiveKitError(INVALID_ARGUMENT, message)


def verdict(hard: str | None, soft: list[str] | tuple[str, ...] = ()) -> Validation:
    """The `Validation` for a check's (first hard error, soft errors) pair."""
    return Validation(invalid(hard) if hard else None, tuple(soft))
