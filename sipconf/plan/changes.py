"""The values a plan is made of: per-field changes, and Create / Update / Delete of one object.

The identity of an object is (kind, spec name), never a LiveKit id. Secret fields
carry fingerprints instead of values: an HMAC keyed by the target's API secret, because a plain
hash of a 4-digit PIN gives it away.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

from sipconf.plan.elements import ListDelta, MapDelta, delta

Action = Literal["create", "update", "delete"]
CREATE, UPDATE, DELETE = "create", "update", "delete"

# Apply order: rules are deleted before their trunks; trunks are
# created before the rules that use them. Trunk deletes come before trunk creates so that a
# number moving from a deleted trunk to a new one never trips LiveKit's conflict check
# (docs/livekit.md#trunk-conflicts); a rule's trunk_ids are not checked for existence
# (docs/livekit.md#rule-conflicts), so a rule briefly naming a deleted trunk is harmless.
APPLY_ORDER: tuple[tuple[str, str], ...] = (
    (DELETE, "dispatch_rule"),
    (DELETE, "inbound_trunk"),
    (DELETE, "outbound_trunk"),
    (UPDATE, "inbound_trunk"),
    (UPDATE, "outbound_trunk"),
    (CREATE, "inbound_trunk"),
    (CREATE, "outbound_trunk"),
    (UPDATE, "dispatch_rule"),
    (CREATE, "dispatch_rule"),
)
SYMBOL = {CREATE: "+", UPDATE: "~", DELETE: "-"}


def fingerprint(key: str, value: str) -> str:
    """8 hex digits of HMAC-SHA256(key=API secret, value): shows a rotation, reveals nothing."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:8]


@dataclass(frozen=True)
class FieldChange:
    """One field path, before and after. For a sensitive field the values are fingerprints.

    A list or map field also has its element delta (`delta`): added and removed elements, or
    added, removed and changed keys. It is derived from before and after, never stored.
    """

    path: str
    before: Any
    after: Any
    sensitive: bool = False

    @property
    def delta(self) -> ListDelta | MapDelta | None:
        return None if self.sensitive else delta(self.before, self.after)

    def to_json(self) -> dict[str, Any]:
        doc = {"path": self.path, "before": self.before, "after": self.after, "sensitive": self.sensitive}
        elements = self.delta
        if elements is not None:
            doc.update(elements.to_json())
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FieldChange:
        return cls(doc["path"], doc["before"], doc["after"], bool(doc["sensitive"]))


@dataclass(frozen=True)
class Change:
    """Create, Update or Delete of one object. `live_id` is the id being updated or deleted."""

    action: Action
    kind: str
    name: str
    fields: tuple[FieldChange, ...] = ()
    live_id: str | None = None
    drift: bool = False  # the live object was edited outside sipconf since the last apply
    origin: str | None = None  # file:line:col of the spec object

    @property
    def key(self) -> tuple[int, str]:
        return APPLY_ORDER.index((self.action, self.kind)), self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "name": self.name,
            "live_id": self.live_id,
            "drift": self.drift,
            "origin": self.origin,
            "fields": [f.to_json() for f in self.fields],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Change:
        return cls(
            action=doc["action"],
            kind=doc["kind"],
            name=doc["name"],
            fields=tuple(FieldChange.from_json(f) for f in doc["fields"]),
            live_id=doc.get("live_id"),
            drift=bool(doc.get("drift", False)),
            origin=doc.get("origin"),
        )


UNMANAGED_STATUS = {
    "differs": "differs (managed: false: drift from the spec that sipconf leaves as it is)",
    "missing": "missing (managed: false: not in LiveKit, and sipconf does not create it)",
}


@dataclass(frozen=True)
class Unmanaged:
    """An object sipconf does not change: a live object it does not own, or a spec object
    marked `managed: false`. `status`: matches | not-in-spec | differs | missing
    (UNMANAGED_STATUS). `fields`, for `differs`, are live (before) vs spec (after)."""

    kind: str
    name: str
    live_id: str
    status: str
    owner: str | None = None
    fields: tuple[FieldChange, ...] = ()

    @property
    def describe(self) -> str:
        return UNMANAGED_STATUS.get(self.status, self.status)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "live_id": self.live_id,
            "status": self.status,
            "owner": self.owner,
            "fields": [f.to_json() for f in self.fields],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Unmanaged:
        fields = tuple(FieldChange.from_json(f) for f in doc.get("fields", ()))
        return cls(doc["kind"], doc["name"], doc["live_id"], doc["status"], doc.get("owner"), fields)


@dataclass(frozen=True)
class RouteOutcome:
    """Where a call to a number ends: a trunk and rule and room, or a rejection."""

    trunk: str | None = None
    rule: str | None = None
    room: str | None = None
    rejection: str | None = None

    @property
    def routed(self) -> bool:
        return self.rejection is None and self.rule is not None

    def describe(self) -> str:
        if self.rejection is not None:
            return f"rejected ({self.rejection})"
        return f"trunk {self.trunk or '<none>'}, rule {self.rule or '<none>'}, room {self.room or '<none>'}"

    def to_json(self) -> dict[str, Any]:
        return {"trunk": self.trunk, "rule": self.rule, "room": self.room, "rejection": self.rejection}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RouteOutcome:
        return cls(doc.get("trunk"), doc.get("rule"), doc.get("room"), doc.get("rejection"))


@dataclass(frozen=True)
class RouteChange:
    """A called number whose outcome changes, for one representative call to it.

    `source` and `caller` name the representative when the outcome depends on who calls
    (an `allowed_addresses` entry or "any other source"; "caller +1408..." or "any other
    caller"); None when the change is the same for every source and caller.
    """

    number: str
    before: RouteOutcome
    after: RouteOutcome
    source: str | None = None
    caller: str | None = None

    @property
    def unroutes(self) -> bool:
        return self.before.routed and not self.after.routed

    @property
    def via(self) -> str:
        """` from 127.0.1.0/24, caller +14085550000`, or "" for every source and caller."""
        parts = [p for p in (self.source, self.caller) if p]
        return f" from {', '.join(parts)}" if parts else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "source": self.source,
            "caller": self.caller,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RouteChange:
        before, after = RouteOutcome.from_json(doc["before"]), RouteOutcome.from_json(doc["after"])
        return cls(doc["number"], before, after, doc.get("source"), doc.get("caller"))
