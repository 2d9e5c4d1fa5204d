"""The driver plugin contract (STYLE 11: a Protocol plus a plain dict, see drivers/__init__)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol

from sipconf.livekit.target import Target
from sipconf.model import DesiredState, SecretRef
from sipconf.spec.values import SecretValue
from simulator.result import CallResult
from simulator.scenario.reader import LoadedScenario


@dataclass
class RunContext:
    """What a driver gets besides the scenario: the desired state of the scenario's spec,
    the environment that resolves its secrets, and the target (None for in-process runs)."""

    desired: DesiredState
    environ: Mapping[str, str]
    target: Target | None = None
    mode: str = "explicit"
    timeout: float = 10.0
    extras: dict = field(default_factory=dict)


class Driver(Protocol):
    name: str

    def cannot_run(self, loaded: LoadedScenario) -> str | None:
        """Why this driver cannot run the scenario, or None. The runner reports the scenario
        as skipped with this reason (it touches nothing, and fails nothing)."""

    async def run(self, loaded: LoadedScenario, ctx: RunContext) -> CallResult:
        """Place the call, perform the steps, and return what was observed."""


def resolve_secret(value: SecretValue, environ: Mapping[str, str]) -> str:
    """A scenario's `{env: NAME}` credential, resolved like the spec's (UserError when unset)."""
    return SecretRef(env=value.env, file=value.file, literal=value.literal).resolve(environ)
