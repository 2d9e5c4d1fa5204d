"""pytest plugin: scenario files under a `scenarios` folder are collected as tests.

`pytest scenarios/` runs each scenario as one item (its id is `file.yaml::name`), against
`LIVEKIT_URL`/`SIPCONF_SIP` when set, else against an embedded `sipconf up` started once per
spec for the session with that spec applied. Files outside a `scenarios` path are ignored,
so `tests/` is untouched. `--sipconf-driver` overrides each scenario's driver.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sipconf.errors import UserError
from simulator.cli import TestArgs, explicit_target
from simulator.reports.summary import failure_block
from simulator.runner import RunOptions, Runner, environ_for
from simulator.scenario.load import LoadedScenario, load_file


def pytest_addoption(parser) -> None:
    group = parser.getgroup("sipconf", "sipconf call-flow scenarios")
    group.addoption("--sipconf-driver", choices=("sipp", "scapy", "inproc"), default=None,
                    help="override each scenario's driver")


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix != ".yaml" or file_path.name.startswith("spec"):
        return None
    try:
        parts = file_path.relative_to(parent.config.rootpath).parts
    except ValueError:
        parts = file_path.parts
    # Only under a `scenarios` folder of the project, whatever the checkout's own path is.
    return ScenarioFile.from_parent(parent, path=file_path) if "scenarios" in parts else None


class ScenarioFailed(Exception):
    """A scenario's mismatches (expected versus got, ladder, trace)."""


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            loaded = load_file(self.path)
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

    def runtest(self) -> None:
        driver = self.config.getoption("sipconf_driver")
        target = _targets(self.config).get(self.loaded, driver)
        runner = Runner(RunOptions(driver=driver, jobs=1, target=target))
        outcome = asyncio.run(runner.run_one(self.loaded))
        if not outcome.passed:
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
        self.explicit = explicit_target(TestArgs(paths=[]))
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
                started.apply(loaded.spec, environ_for(loaded, os.environ))
            except BaseException:
                started.stop()
                raise
            self.running[loaded.spec] = started
        return self.running[loaded.spec].target

    def stop(self) -> None:
        for running in self.running.values():
            running.stop()
        self.running.clear()


def _targets(config) -> _Targets:
    if not hasattr(config, "_sipconf_targets"):
        config._sipconf_targets = _Targets()
    return config._sipconf_targets


def pytest_unconfigure(config) -> None:
    targets = getattr(config, "_sipconf_targets", None)
    if targets is not None:
        targets.stop()
