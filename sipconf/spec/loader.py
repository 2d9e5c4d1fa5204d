"""`load(path)`: read, parse with positions, check the version, overlay the environment,
validate with pydantic, normalise. Every problem is collected; SpecError is raised once."""

from __future__ import annotations

from pathlib import Path as FsPath
from pydantic import ValidationError

from sipconf.issues import Issue
from sipconf.model import DesiredState, Origin
from sipconf.spec.diagnostics import issues_from
from sipconf.spec.environments import apply_environment
from sipconf.spec.errors import SpecError
from sipconf.spec.migrate import VersionError, migrate
from sipconf.spec.models import Spec
from sipconf.spec.normalise import Normaliser
from sipconf.spec.yamlsrc import load_yaml


def load(path: str | FsPath, *, env: str | None = None, allow_literal_secrets: bool = False) -> DesiredState:
    """The normalised state of the spec at `path` for environment `env` (None = the base)."""
    source = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([Issue("error", "unreadable-spec", f"cannot read spec {source}: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise SpecError([Issue("error", "unreadable-spec", f"cannot read spec {source}: not UTF-8 text")]) from None
    return loads(text, source, env=env, allow_literal_secrets=allow_literal_secrets)


def loads(text: str, source: str, *, env: str | None = None, allow_literal_secrets: bool = False) -> DesiredState:
    """As `load`, from text; `source` names the file in positions (and anchors `{file:}` secrets)."""
    data, positions, issues = load_yaml(text, source)
    top = Origin(source, 1, 1)
    if issues and data is None:
        raise SpecError(issues)
    if not isinstance(data, dict):
        got = "an empty document" if data is None else "not a mapping"
        raise SpecError(issues + [Issue("error", "invalid-spec", f"a spec must be a mapping with 'version: 1', got {got}", top)])
    try:
        data, positions = migrate(data, positions)
    except VersionError as exc:
        where = positions.value(("version",)) if "version" in data else top
        raise SpecError(issues + [Issue("error", "unsupported-version", str(exc), where)]) from None

    url = None
    if env is not None:
        data, url, env_issues = apply_environment(data, positions, env)
        issues += env_issues
    try:
        spec = Spec.model_validate(data, context={"allow_literal_secrets": allow_literal_secrets})
    except ValidationError as exc:
        raise SpecError(issues + issues_from(exc, data, positions, Spec)) from None
    if issues:
        raise SpecError(issues)
    normaliser = Normaliser(spec, positions, source=source)
    state = normaliser.state(environment=env, url=url)
    if normaliser.issues:
        raise SpecError(normaliser.issues)
    return state

