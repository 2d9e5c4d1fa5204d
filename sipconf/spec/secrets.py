"""Checking that a state's secrets can be resolved, as `plan` and `apply` will need them.

`validate` never needs secret values; `validate --check-secrets` asks for this check so CI
can tell early that a variable is missing, naming it and the line that refers to it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from sipconf.issues import Issue
from sipconf.model import DesiredState


def check_secrets(state: DesiredState, environ: Mapping[str, str] | None = None) -> list[Issue]:
    env = os.environ if environ is None else environ
    issues: list[Issue] = []
    for obj in state.objects():
        for ref in obj.secrets.values():
            if ref.env and ref.env not in env:
                issues.append(Issue("error", "missing-secret", f"secret environment variable {ref.env} is not set", ref.origin))
            elif ref.file and not Path(ref.file).is_file():
                issues.append(Issue("error", "missing-secret", f"secret file {os.path.relpath(ref.file)} does not exist", ref.origin))
    return issues
