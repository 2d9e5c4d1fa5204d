"""Scenario files -> `LoadedScenario`s, with errors at file:line:col exactly like the spec's.

The YAML is read with the spec loader's own positions (`sipconf.spec.yamlsrc.load_yaml`) and
pydantic errors are mapped back with its `issues_from`, so a scenario typo reads like a spec
typo. Discovery: a scenario file is any `*.yaml` under the given paths except
`spec*.yaml`; its spec is the nearest `spec.yaml` in its folder or a parent folder.

Each spec is loaded once per run (`Specs`) and travels with its scenarios (`desired`): the
name checks here, the runner, the embedded apply and coverage all use that one value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from sipconf.errors import UserError
from sipconf.issues import Issue
from sipconf.model import DesiredState, Origin
from sipconf.spec import load as load_spec
from sipconf.spec.diagnostics import issues_from
from sipconf.spec.errors import SpecError
from sipconf.spec.yamlsrc import load_yaml
from simulator.scenario.checks import scenario_issues
from simulator.scenario.models import Scenario, Suite


@dataclass(frozen=True)
class LoadedScenario:
    """One scenario with where it came from and the spec it runs against."""

    scenario: Scenario
    origin: Origin
    file: Path
    spec: Path
    desired: DesiredState = field(compare=False, repr=False)  # the spec, loaded
    driver: str
    mode: str
    env: tuple[tuple[str, str], ...] = ()
    base: Path | None = None  # the suite's folder, for an id outside the current directory

    @property
    def id(self) -> str:
        """A stable test id: `relative/file.yaml::name` (relative to the current directory
        when the file is inside it, else to the suite's folder)."""
        return f"{_display(self.file, self.base)}::{self.scenario.name}"


def discover(paths: list[str | Path]) -> list[Path]:
    """Scenario files under `paths`, sorted; a path that does not exist is a UserError."""
    return sorted(dict.fromkeys(f for f, _ in _discover(paths)))


def _discover(paths: list[str | Path]) -> list[tuple[Path, Path]]:
    """(file, the folder it was found from) for every scenario file under `paths`."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append((path, path.parent))
        elif path.is_dir():
            found.extend((p, path) for p in path.rglob("*.yaml") if not p.name.startswith("spec"))
        else:
            raise UserError(f"{raw}: no such file or directory")
    return sorted(dict(found).items())


def nearest_spec(file: Path) -> Path | None:
    """The nearest `spec.yaml` in the file's folder or a parent folder."""
    for folder in [file.resolve().parent, *file.resolve().parents]:
        candidate = folder / "spec.yaml"
        if candidate.is_file():
            return candidate
    return None


class Specs:
    """The specs of one run, each loaded once. A spec that fails to load is remembered with
    its issues, reported with those of every suite file that uses it.
    `allow_literal_secrets` (`sipconf test --allow-literal-secrets`) accepts passwords and
    PINs written as text, in the specs and in the scenarios' credentials alike."""

    def __init__(self, allow_literal_secrets: bool = False) -> None:
        self.allow_literal_secrets = allow_literal_secrets
        self._loaded: dict[Path, DesiredState | SpecError] = {}

    def load(self, spec: Path) -> DesiredState:
        """The spec's state; SpecError with its issues when it does not load."""
        key = spec.resolve()
        if key not in self._loaded:
            try:
                self._loaded[key] = load_spec(spec, allow_literal_secrets=self.allow_literal_secrets)
            except SpecError as err:
                self._loaded[key] = err
        loaded = self._loaded[key]
        if isinstance(loaded, SpecError):
            raise SpecError(loaded.issues, state=loaded.state)
        return loaded


def load_file(
    file: Path, spec: str | Path | None = None, base: Path | None = None, specs: Specs | None = None
) -> list[LoadedScenario]:
    """Load one suite file. `spec` (`--spec FILE`) overrides the suite's `spec:` and the
    nearest spec.yaml; `specs` holds the specs the run has loaded so far. Raises SpecError
    with every issue at file:line:col: the file's own (YAML, schema, cross-field, names)
    and its spec's, all at once."""
    specs = specs if specs is not None else Specs()
    name = _display(file, base)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"{name}: cannot read ({err.strerror})") from None
    data, positions, issues = load_yaml(text, name)
    if data is None:  # a syntax error, or nothing at all: there is nothing more to check
        raise SpecError(issues or [Issue("error", "empty-file", "the scenario file is empty", Origin(name, 1, 1))])
    raw_spec = data.get("spec") if isinstance(data, dict) else None
    if spec is not None:
        spec = Path(spec)
        if not spec.is_file():
            raise UserError(f"--spec {spec}: no such file")
    elif isinstance(raw_spec, str):
        spec = file.parent / raw_spec
    else:
        spec = nearest_spec(file)
    desired: DesiredState | None = None
    if spec is None or not spec.is_file():
        where = positions.value(("spec",)) if isinstance(raw_spec, str) else Origin(name, 1, 1)
        what = (f"spec {raw_spec} not found" if isinstance(raw_spec, str) else
                "no spec.yaml in this folder or a parent folder: give it with `spec:` in the suite file or `--spec FILE`")
        issues.append(Issue("error", "no-spec", what, where))
    else:
        try:
            desired = specs.load(spec)
        except SpecError as err:
            issues += err.issues
    issues += scenario_issues(data, positions, desired)
    try:
        suite = Suite.model_validate(data, context={"allow_literal_secrets": specs.allow_literal_secrets})
    except ValidationError as err:
        issues += [_aliased(i) for i in issues_from(err, data, positions, Suite)]
        suite = None
    if issues or suite is None or desired is None:
        raise SpecError(list(dict.fromkeys(issues)))
    return [LoadedScenario(scenario, positions.value(("scenarios", i)), file, spec, desired,
                           scenario.driver or suite.driver, suite.mode, tuple(suite.env.items()), base)
            for i, scenario in enumerate(suite.scenarios)]


def _aliased(issue: Issue) -> Issue:
    """Field names as written in YAML: `from` is `from_` in Python."""
    return replace(issue, message=issue.message.replace("'from_'", "'from'").replace(".from_", ".from"))


def load_paths(paths: list[str | Path], spec: str | Path | None = None,
               allow_literal_secrets: bool = False) -> list[LoadedScenario]:
    """Every scenario under `paths` (against `spec` when given, `--spec`); all files'
    issues are collected and raised once. Each spec is loaded once for all of them."""
    out: list[LoadedScenario] = []
    issues: list[Issue] = []
    specs = Specs(allow_literal_secrets)
    for file, base in _discover(paths):
        try:
            out.extend(load_file(file, spec, base, specs))
        except SpecError as err:
            issues.extend(err.issues)
    if issues:
        raise SpecError(list(dict.fromkeys(issues)))  # a broken spec shared by several files: once
    return out


def _display(file: Path, base: Path | None = None) -> str:
    """The file relative to the current directory when inside it, else to the suite's
    folder (`base`: the folder it was found from), else as given."""
    try:
        return file.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        pass
    if base is not None:
        try:
            return file.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return file.as_posix()
