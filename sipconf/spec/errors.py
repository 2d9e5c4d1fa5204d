"""The loader's one exception: every problem of a spec, collected, raised once."""

from __future__ import annotations

from sipconf.errors import UserError
from sipconf.issues import Issue, sort_issues


class SpecError(UserError):
    """A spec that cannot be loaded. `issues` holds every problem; each line is `str(issue)`."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues: list[Issue] = sort_issues(list(issues))
        super().__init__(*(str(i) for i in self.issues))
