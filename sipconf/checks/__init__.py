"""Cross-object static checks: small rule objects in one `DEFAULT_CHECKS` tuple.

Checks return issues, never raise. Each issue has a level, a stable kebab-case code, stable
text and the origin of the object it is about, so a conflict found after normalisation
still points at the YAML line.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from sipconf.issues import Issue, sort_issues
from sipconf.model import DesiredState


class Check(Protocol):
    code: str

    def run(self, state: DesiredState) -> Iterable[Issue]: ...


def _default_checks() -> tuple[Check, ...]:
    from sipconf.checks.rules import DEFAULT_CHECKS

    return DEFAULT_CHECKS


def run_checks(state: DesiredState, checks: tuple[Check, ...] | None = None) -> list[Issue]:
    """Every issue of every check, errors first, then by position."""
    from sipconf.checks.prepared import Prepared
    from sipconf.spec.bulk import collector_paused

    issues: list[Issue] = []
    try:
        with collector_paused():
            for check in _default_checks() if checks is None else checks:
                issues.extend(check.run(state))
    finally:
        Prepared.forget(state)  # what the checks shared goes with this run
    return sort_issues(issues)


def require_no_errors(state: DesiredState) -> list[Issue]:
    """The checks at a command's boundary: any error stops the command, before any API call.

    Returns the warnings, for the command to show. Used by explain, plan and apply, so a spec
    LiveKit would reject never reaches the network.
    """
    from sipconf.errors import UserError

    issues = run_checks(state)
    errors = [i for i in issues if i.level == "error"]
    if errors:
        raise UserError(*(str(i) for i in errors))
    return [i for i in issues if i.level != "error"]
