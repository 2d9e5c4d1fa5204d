"""The values a plan is made of: per-field changes, and Create / Update / Delete of one object.

The identity of an object is (kind, spec name), never a LiveKit id. Fields are named and
valued as in the spec (sipconf.plan.spec_fields). Secrets never show a value: a password shows
a fingerprint, an HMAC keyed by the target's API secret (a plain hash of a password would be a
dictionary attack away); a PIN shows only whether it changed, since a PIN has so few values
(10^4 to 10^8) that any keyed fingerprint of it is reversed by anyone with the key, and the
embedded control plane's development key is public.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from sipconf.plan.elements import ListDelta, MapDelta, NumberDelta, delta, number_delta
from sipconf.plan.ranges import collapse, expand_entries
from sipconf.plan.spec_fields import NUMBER_FIELDS, object_path

Action = Literal["create", "update", "delete"]
CREATE, UPDATE, DELETE = "create", "update", "delete"

# Apply order: rules are deleted before their trunks; trunks are created before the rules that
# use them. Trunk deletes come before trunk creates so that a number moving from a deleted
# trunk to a new one never trips LiveKit's conflict check (docs/livekit.md#trunk-conflicts); a
# rule's trunk_ids are not checked for existence, so a rule briefly naming a deleted trunk is
# harmless.
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
# What a PIN shows instead of a value or a fingerprint: that it is set.
SECRET_SET = "set"


def fingerprint(key: str, value: str) -> str:
    """8 hex digits of HMAC-SHA256(key=API secret, value): shows a rotation, reveals nothing."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:8]


@dataclass(frozen=True)
class FieldChange:
    """One field, by its spec path under the object (`auth.password`, `direct.room`), before
    and after, as the spec writes values; None = unset.

    A sensitive field holds a password's fingerprint or, for a PIN, SECRET_SET; `rotated` says
    the secret is set on both sides with different values (for a PIN the only sign of it).
    A list or map field also has its element delta (`delta`), derived from before and after,
    never stored; a list of numbers has a NumberDelta of ranges. `origin` is the field's
    `file:line:col` in the spec, when it stands there.
    """

    path: str
    before: Any
    after: Any
    sensitive: bool = False
    rotated: bool = False
    origin: str | None = None

    @property
    def changed(self) -> bool:
        return self.rotated or self.before != self.after

    @property
    def is_numbers(self) -> bool:
        return self.path in NUMBER_FIELDS and not self.sensitive

    @cached_property
    def delta(self) -> ListDelta | MapDelta | NumberDelta | None:
        if self.sensitive:
            return None
        if self.is_numbers:
            return number_delta(self.before, self.after)
        return delta(self.before, self.after)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "origin": self.origin, "sensitive": self.sensitive}
        if self.sensitive:
            doc.update(changed=self.changed, before=self.before, after=self.after)
            return doc
        if self.is_numbers:
            doc.update(before=_entries(self.before), after=_entries(self.after))
        else:
            doc.update(before=self.before, after=self.after)
        elements = self.delta
        if elements is not None:
            doc.update(elements.to_json())
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FieldChange:
        path, before, after, sensitive = doc["path"], doc["before"], doc["after"], bool(doc["sensitive"])
        if sensitive:
            rotated = bool(doc["changed"]) and before is not None and after is not None
            return cls(path, before, after, True, rotated, doc.get("origin"))
        if path in NUMBER_FIELDS:
            before = None if before is None else expand_entries(before)
            after = None if after is None else expand_entries(after)
        return cls(path, before, after, origin=doc.get("origin"))


def _entries(numbers: list[str] | None) -> list[str] | None:
    return None if numbers is None else collapse(numbers)


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

    @property
    def path(self) -> str:
        return object_path(self.kind, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
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

    @property
    def path(self) -> str:
        return object_path(self.kind, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
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


OTHER_SOURCE = "any other source"
OTHER_CALLER = "any other caller"


@dataclass(frozen=True)
class RouteChange:
    """One row of route impact: called numbers whose outcome changes alike, for the calls from
    `sources` by `callers`.

    `sources` are `allowed_addresses` entries (and OTHER_SOURCE, an address none admits);
    `callers` are caller numbers (and OTHER_CALLER, a caller no list names). None means every
    source, or every caller, sees this change. Numbers and callers are kept in full and
    written as ranges.
    """

    numbers: tuple[str, ...]
    before: RouteOutcome
    after: RouteOutcome
    sources: tuple[str, ...] | None = None
    callers: tuple[str, ...] | None = None

    @property
    def unroutes(self) -> bool:
        return self.before.routed and not self.after.routed

    @property
    def caller_numbers(self) -> tuple[str, ...]:
        return tuple(c for c in self.callers or () if c != OTHER_CALLER)

    def to_json(self) -> dict[str, Any]:
        callers = None
        if self.callers is not None:
            callers = collapse(self.caller_numbers) + ([OTHER_CALLER] if OTHER_CALLER in self.callers else [])
        return {
            "numbers": collapse(self.numbers),
            "count": len(self.numbers),
            "sources": None if self.sources is None else list(self.sources),
            "callers": callers,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RouteChange:
        before, after = RouteOutcome.from_json(doc["before"]), RouteOutcome.from_json(doc["after"])
        sources = None if doc.get("sources") is None else tuple(doc["sources"])
        callers = None
        if doc.get("callers") is not None:
            others = [c for c in doc["callers"] if c == OTHER_CALLER]
            callers = tuple(expand_entries(c for c in doc["callers"] if c != OTHER_CALLER)) + tuple(others)
        return cls(tuple(expand_entries(doc["numbers"])), before, after, sources, callers)
