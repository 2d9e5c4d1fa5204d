"""An explanation of one call: a plain value, rendered as text or JSON by `render`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class AuthInfo:
    """Whether the matched trunk challenges the caller, and what the given --auth would do.

    `checked` is False when no --auth was given: the explanation then assumes the caller
    answers the challenge, so the rest of the route can still be shown. Never a secret here.
    """

    required: bool
    trunk: str = ""
    username: str = ""
    realm: str = ""
    checked: bool = False
    passes: bool | None = None


@dataclass(frozen=True)
class Agent:
    agent_name: str
    metadata: str = ""


@dataclass(frozen=True)
class Explanation:
    call: dict[str, object]
    mode: str
    trunks: tuple[str, ...]
    auth: AuthInfo
    rules: tuple[str, ...]
    action: str  # accept | request_pin | challenge | reject | drop | error
    status: int | None
    reason: str
    trunk: str | None = None
    rule: str | None = None
    rule_priority: int | None = None
    rule_reason: str | None = None  # why the rule beat the next one (docs/routing.md)
    rule_runner_up: str | None = None  # the rule LiveKit would choose without it
    rule_runner_up_priority: int | None = None
    room: str | None = None
    room_random: bool = False
    identity: str | None = None
    name: str | None = None
    metadata: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    agents: tuple[Agent, ...] = ()
    error: str | None = None
    error_code: str | None = None
    notes: tuple[str, ...] = ()
    trace: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """The call would be answered: it joins a room, or reaches the PIN prompt."""
        return self.action in ("accept", "request_pin")

    def to_json(self) -> dict:
        out = asdict(self)
        out["trunks"], out["rules"], out["notes"], out["trace"] = (
            list(self.trunks), list(self.rules), list(self.notes), list(self.trace)
        )
        out["agents"] = [asdict(a) for a in self.agents]
        out["accepted"] = self.accepted
        return out
