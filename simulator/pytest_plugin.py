"""pytest plugin: scenario files under a `scenarios` folder are collected as tests.

`pytest scenarios/` runs each scenario as one item (its id is `file.yaml::name`), against
`LIVEKIT_URL`/`SIPCONF_SIP` when set, else against an embedded `sipconf up` started once per
spec for the session with that spec applied. Files outside a `scenarios` path are ignored,
so `tests/` is untouched, unless listed with `--sipconf-scenarios PATH` (repeatable) or the
`sipconf_scenario_paths` ini option (paths relative to the rootdir); a yaml file that looks
like a suite (a top-level `scenarios:` list) but was not collected gets one hint line after
collection. `--sipconf-driver` overrides each scenario's driver; a scenario its driver cannot
run is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sipconf.errors import UserError
from sipconf.livekit.target import resolve_target
from simulator.drivers import DRIVERS
from simulator.reports.summary import failure_block
from simulator.runner import RunOptions, Runner, environ_for
from simulator.scenario.reader import LoadedScenario, Specs, load_file


def pytest_addoption(parser) -> None:
    group = parser.getgroup("sipconf", "sipconf call-flow scenarios")
    group.addoption("--sipconf-driver", choices=("sipp", "scapy", "inproc"), default=None,
                    help="override each scenario's driver")
    group.addoption("--sipconf-scenarios", action="append", default=[], metavar="PATH",
                    help="also collect scenario suites under PATH (a file or folder; repeatable)")
    parser.addini("sipconf_scenario_paths", type="paths", default=[],
                  help="folders or files whose yaml suites are collected, besides `scenarios` folders")


def _extra_paths(config) -> list[Path]:
    paths = [Path(p) for p in config.getini("sipconf_scenario_paths")]
    paths += [(Path(config.invocation_params.dir) / p) for p in config.getoption("sipconf_scenarios")]
    return [p.resolve() for p in paths]


def _listed(file_path: Path, config) -> bool:
    resolved = file_path.resolve()
    return any(resolved == p or p in resolved.parents for p in _extra_paths(config))


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix != ".yaml" or file_path.name.startswith("spec"):
        return None
    try:
        parts = file_path.relative_to(parent.config.rootpath).parts
    except ValueError:
        parts = file_path.parts
    # Under a `scenarios` folder of the project (whatever the checkout's own path is), or a
    # path the user listed.
    if "scenarios" in parts or _listed(file_path, parent.config):
        return ScenarioFile.from_parent(parent, path=file_path)
    if _looks_like_suite(file_path):
        parent.config.stash.setdefault(_SKIPPED, []).append(file_path)
    return None


_SKIPPED = pytest.StashKey[list]()


def _looks_like_suite(path: Path) -> bool:
    """A top-level mapping with a `scenarios:` list (read only for small files)."""
    from sipconf.spec.yamlsrc import load_yaml

    try:
        if path.stat().st_size > 1_000_000:
            return False
        data, _, issues = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return not issues and isinstance(data, dict) and isinstance(data.get("scenarios"), list)


def pytest_report_collectionfinish(config, start_path, items):
    skipped = config.stash.get(_SKIPPED, [])
    if not skipped:
        return None
    try:
        first = skipped[0].relative_to(config.rootpath)
    except ValueError:
        first = skipped[0]
    more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
    return (f"sipconf: {first}{more} looks like a scenario suite but is not under a `scenarios` folder: "
            "not collected (add it with --sipconf-scenarios PATH or the sipconf_scenario_paths ini option)")


class ScenarioFailed(Exception):
    """A scenario's mismatches (expected versus got, ladder, trace)."""


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            loaded = load_file(self.path, specs=_specs(self.config))
        except UserError as err:
            raise self.CollectError("\n".join(err.lines)) from None
        for item in loaded:
            yield ScenarioItem.from_parent(self, name=item.scenario.name, loaded=item)


class ScenarioItem(pytest.Item):
    def __init__(self, *, loaded: LoadedScenario, **kw) -> None:
        super().__init__(**kw)
        self.loaded = loaded
        for tag in loaded.scenario.tags:
            mark = tag.replace("-", "_")
            self.config.addinivalue_line("markers", f"{mark}: scenario tag")  # `pytest -m mark`
            self.add_marker(mark)
        # A scenario its driver cannot run is skipped with the reason, at its own line.
        name = self.config.getoption("sipconf_driver") or loaded.driver
        driver = DRIVERS.get(name)
        reason = driver.cannot_run(loaded) if driver is not None else None
        if reason is not None:
            self.add_marker(pytest.mark.skip(reason=f"{name} driver: {reason}"))

    def runtest(self) -> None:
        driver = self.config.getoption("sipconf_driver")
        target = _targets(self.config).get(self.loaded, driver)
        runner = Runner(RunOptions(driver=driver, jobs=1, target=target))
        outcome = asyncio.run(runner.run_one(self.loaded))
        if outcome.failed:
            raise ScenarioFailed("\n".join(failure_block(outcome)))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, self.loaded.origin.line - 1, f"scenario: {self.loaded.scenario.name}"


class _Targets:
    """One target for the session: the explicit one, or an embedded `sipconf up` per spec."""

    def __init__(self) -> None:
        self.explicit = resolve_target(embedded_default=True)
        self.running: dict[Path, object] = {}

    def get(self, loaded: LoadedScenario, driver: str | None):
        if (driver or loaded.driver) == "inproc":
            return self.explicit
        if self.explicit is not None:
            return self.explicit
        if loaded.spec not in self.running:
            from simulator import embedded

            for other in list(self.running.values()):  # one embedded control plane at a time
                other.stop()
            self.running.clear()
            started = embedded.start(mode=loaded.mode)
            try:
                started.apply(loaded.desired, environ_for(loaded, os.environ))
            except BaseException:
                started.stop()
                raise
            self.running[loaded.spec] = started
        return self.running[loaded.spec].target

    def stop(self) -> None:
        for running in self.running.values():
            running.stop()
        self.running.clear()


def _specs(config) -> Specs:
    """The session's specs: each is loaded once, however many suite files use it."""
    if not hasattr(config, "_sipconf_specs"):
        config._sipconf_specs = Specs()
    return config._sipconf_specs


def _targets(config) -> _Targets:
    if not hasattr(config, "_sipconf_targets"):
        config._sipconf_targets = _Targets()
    return config._sipconf_targets


def pytest_unconfigure(config) -> None:
    targets = getattr(config, "_sipconf_targets", None)
    if targets is not None:
        targets.stop()
