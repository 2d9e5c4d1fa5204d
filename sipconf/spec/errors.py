"""The loader's one exception: every problem of a spec, collected, raised once."""

from __future__ import annotations

from sipconf.errors import UserError
from sipconf.issues import Issue, sort_issues
from sipconf.model import DesiredState


class SpecError(UserError):
    """A spec that cannot be loaded. `issues` holds every problem; each line is `str(issue)`.

    `state` is what could still be normalised (objects with errors in their own fields left
    out), for `validate` to run the static checks on, or None when loading stopped early.
    """

    def __init__(self, issues: list[Issue], state: "DesiredState | None" = None) -> None:
        self.issues: list[Issue] = sort_issues(list(issues))
        self.state = state
        super().__init__(*(str(i) for i in self.issues))
