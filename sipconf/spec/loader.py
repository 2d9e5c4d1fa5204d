"""`load(path)`: read, parse with positions, check the version, overlay the environment,
validate with pydantic, normalise. Every problem is collected; SpecError is raised once, with
the state of what could still be normalised so `validate` can check that too."""

from __future__ import annotations

import copy
import os
from pathlib import Path as FsPath

from pydantic import ValidationError

from sipconf.issues import Issue
from sipconf.model import DesiredState, Origin
from sipconf.spec.bulk import collector_paused
from sipconf.spec.environments import apply_environment, overlay_issues
from sipconf.spec.errors import SpecError
from sipconf.spec.limits import Limits, default_limits
from sipconf.spec.migrate import VersionError, migrate
from sipconf.spec.models import Spec
from sipconf.spec.normalise import Normaliser
from sipconf.spec.yamlsrc import Path, Positions, load_yaml


def load(
    path: str | FsPath, *, env: str | None = None, allow_literal_secrets: bool = False, limits: Limits | None = None
) -> DesiredState:
    """The normalised state of the spec at `path` for environment `env` (None = the base).
    `limits`: how big a spec may be (default: `default_limits()`, 16 MiB)."""
    source = str(path)
    limits = limits or default_limits()
    try:
        too_big = limits.file_issue(source, os.stat(path).st_size)
        if too_big is not None:
            raise SpecError([too_big])
        text = FsPath(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([Issue("error", "unreadable-spec", f"cannot read spec {source}: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise SpecError([Issue("error", "unreadable-spec", f"cannot read spec {source}: not UTF-8 text")]) from None
    return loads(text, source, env=env, allow_literal_secrets=allow_literal_secrets, limits=limits)


def loads(
    text: str, source: str, *, env: str | None = None, allow_literal_secrets: bool = False, limits: Limits | None = None
) -> DesiredState:
    """As `load`, from text; `source` names the file in positions (and anchors `{file:}` secrets)."""
    with collector_paused():
        return _loads(text, source, env=env, allow_literal_secrets=allow_literal_secrets, limits=limits or default_limits())


def _loads(text: str, source: str, *, env: str | None, allow_literal_secrets: bool, limits: Limits) -> DesiredState:
    too_big = limits.file_issue(source, len(text))
    if too_big is not None:
        raise SpecError([too_big])
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
    issues += overlay_issues(data, positions)  # every environment's, whichever is chosen
    if env is not None:
        data, url, env_issues = apply_environment(data, positions, env)
        issues += env_issues
    spec, _dropped, spec_issues = _validate(data, positions)
    issues += spec_issues
    if not allow_literal_secrets:
        issues += _literal_passwords(data, positions)
    if spec is None:
        raise SpecError(issues)
    # Counted before any range is expanded, so a spec of millions of numbers is refused
    # before it takes the memory they would need.
    too_many = limits.numbers_issue(source, count_numbers(spec))
    if too_many is not None:
        raise SpecError([too_many])
    normaliser = Normaliser(spec, positions, source=source)
    state = normaliser.state(environment=env, url=url)
    issues += normaliser.issues
    if issues:
        raise SpecError(issues, state=state)
    return state


def count_numbers(spec: Spec) -> int:
    """How many numbers the spec lists once every range is expanded."""
    lists = [
        entries
        for trunk in spec.trunks.values()
        for half in (trunk.inbound, trunk.outbound) if half is not None
        for entries in (half.numbers, getattr(half, "allowed_numbers", []))
    ] + [entries for rule in spec.dispatch_rules.values() for entries in (rule.numbers, rule.inbound_numbers)]
    return sum(entry.size() for entries in lists for entry in entries)


def _validate(data: dict, positions: Positions) -> tuple[Spec | None, set[Path], list[Issue]]:
    """(the spec without the objects that have errors of their own, their paths, the issues).

    Collect all the errors, then fail once: an object with a wrong field is left out, so the
    other objects still reach normalisation and the cross-object checks. Literal passwords are
    validated as allowed here and reported by `_literal_passwords`, so they hide nothing.
    """
    context = {"allow_literal_secrets": True}
    try:
        return Spec.model_validate(data, context=context), set(), []
    except ValidationError as exc:
        # Only a spec with errors needs their wording (and difflib for "did you mean").
        from sipconf.spec.diagnostics import clean_loc, issues_from

        issues = issues_from(exc, data, positions, Spec)
        locs = [clean_loc(err["loc"]) for err in exc.errors(include_url=False)]
    pruned, dropped = _without(data, locs)
    try:
        return Spec.model_validate(pruned, context=context), dropped, issues
    except ValidationError:
        return None, dropped, issues  # what is left is still broken: report what we know


def _without(data: dict, locs: list[Path]) -> tuple[dict, set[Path]]:
    """`data` without what each error loc is in: a trunk half, a trunk, a rule, or a top-level
    key (a missing `project` becomes ""); rules naming a trunk that lost its inbound half go too,
    since every check about them would be about a trunk that is not there."""
    out = copy.deepcopy(data)
    dropped: set[Path] = set()
    for loc in locs:
        if loc[:1] == ("trunks",) and len(loc) >= 3 and loc[2] in ("inbound", "outbound"):
            dropped.add(loc[:3])
        elif loc[:1] in (("trunks",), ("dispatch_rules",)) and len(loc) >= 2:
            dropped.add(loc[:2])
        elif loc == ("project",) and "project" not in data:
            out["project"] = ""
        elif loc:
            out.pop(loc[0], None)
    for path in sorted(dropped, key=len):
        section, name = path[0], path[1]
        objects = out.get(section)
        if not isinstance(objects, dict) or name not in objects:
            continue
        if len(path) == 3 and isinstance(objects[name], dict):
            objects[name].pop(path[2], None)
            if any(objects[name].get(half) is not None for half in ("inbound", "outbound")):
                continue
        del objects[name]
    # A rule only ever sees inbound halves: one that lost its outbound half is still itself.
    kept = out.get("trunks") if isinstance(out.get("trunks"), dict) else {}
    broken_trunks = {p[1] for p in dropped if p[0] == "trunks" and (p[2:] != ("outbound",) or p[1] not in kept)}
    rules = out.get("dispatch_rules")
    if broken_trunks and isinstance(rules, dict):
        for name, rule in list(rules.items()):
            trunks = rule.get("trunks") if isinstance(rule, dict) else None
            if isinstance(trunks, list) and broken_trunks & {t for t in trunks if isinstance(t, str)}:
                del rules[name]
                dropped.add(("dispatch_rules", name))
    return out, dropped


def _literal_passwords(data: dict, positions: Positions) -> list[Issue]:
    """Secrets are references, never literals in git. The literal
    still loads, as a stand-in secret, so the rest of the spec is checked in the same run; it is
    looked for in the document, so a trunk left out for another error still shows it."""
    issues = []
    trunks = data.get("trunks")
    for name, trunk in (trunks.items() if isinstance(trunks, dict) else ()):
        for half in ("inbound", "outbound"):
            auth = trunk.get(half) if isinstance(trunk, dict) else None
            auth = auth.get("auth") if isinstance(auth, dict) else None
            password = auth.get("password") if isinstance(auth, dict) else None
            if isinstance(password, str) and password:
                path = ("trunks", name, half, "auth", "password")
                issues.append(Issue(
                    "error", "literal-secret",
                    f"{'.'.join(path)}: literal secret: use {{env: NAME}} or {{file: PATH}} (or --allow-literal-secrets)",
                    positions.value(path),
                ))
    return issues
