"""The diff: desired state vs the classified live state -> Create / Update / Delete.

The diff lives in the core; the adapter only reads and writes. Both sides are compared in
name space and canonical form (sipconf.plan.canonical), field by field, exactly; each field
that differs is then named and valued as the spec writes it (sipconf.plan.spec_fields), with
its `file:line:col` in the spec.

Ownership (docs/ownership.md):
- an owned live object that differs is an Update; one the spec no longer names is a Delete;
- an unowned live twin of a spec object plans as no change when equal, and is an error
  pointing at `sipconf import --adopt NAME` when it differs;
- other unowned live objects are listed as unmanaged and never changed.

A spec object marked `managed: false` is never created, updated or deleted, whoever owns its
live twin: equal -> listed as `matches`; different -> listed as `differs` with its fields
(drift the user chose to leave alone, not an error); no live twin -> listed as `missing`.
Its secrets are compared when they resolve; one that does not resolve (an imported
`{env: NAME}` nobody set) counts as equal, since sipconf never writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from google.protobuf.message import Message

from sipconf.errors import UserError
from sipconf.model import DesiredObject, DesiredState, Origin, get_path, set_path
from sipconf.model.kinds import ID_FIELD, INBOUND, RULE, SENSITIVE_PATHS
from sipconf.plan.canonical import canonical, flatten, from_live, with_secrets
from sipconf.plan.inventory import Inventory, digest
from sipconf.plan.changes import CREATE, DELETE, SECRET_SET, UPDATE, Change, FieldChange, Unmanaged, fingerprint
from sipconf.plan.spec_fields import NUMBER_FIELDS, PASSWORD, order_key, spec_path, spec_value


@dataclass(frozen=True)
class Side:
    """Both sides of the diff in name space, secrets resolved: the input of route impact too."""

    trunks: tuple[Message, ...]
    rules: tuple[Message, ...]


def desired_message(obj: DesiredObject, environ: Mapping[str, str] | None) -> Message:
    """The spec object with its secrets resolved and LiveKit's `name` set to the spec name."""
    msg = obj.resolve(environ)
    msg.name = obj.name
    setattr(msg, ID_FIELD[obj.kind], obj.name)
    return msg


def unmanaged_message(obj: DesiredObject, have: Message | None, environ: Mapping[str, str] | None) -> Message:
    """A `managed: false` object in name space: like `desired_message`, but a secret that does
    not resolve takes the live value (sipconf never writes it, so it cannot differ)."""
    msg = type(obj.message)()
    msg.CopyFrom(obj.message)
    for path, ref in obj.secrets.items():
        try:
            set_path(msg, path, ref.resolve(environ))
        except UserError:
            if have is not None:
                set_path(msg, path, get_path(have, path))
    msg.name = obj.name
    setattr(msg, ID_FIELD[obj.kind], obj.name)
    return msg


def live_message(inventory: Inventory, kind: str, msg: Message) -> Message:
    """A live object in name space with its secrets still in place."""
    model, secrets = from_live(kind, msg, inventory.trunk_names)
    return with_secrets(model, secrets)


def field_changes(
    kind: str,
    before: Message | None,
    after: Message | None,
    key: str,
    origins: Mapping[str, Origin] | None = None,
) -> tuple[FieldChange, ...]:
    """Per-field differences of two objects (either may be absent), in the spec's terms.

    A secret that did not change is still listed (unchanged) so a reviewer sees
    `(sensitive, unchanged)`; callers decide whether an object changed with `has_changes`.
    `origins` are the spec object's field origins (DesiredObject.field_origins).
    """
    old = flatten(canonical(kind, before)) if before is not None else {}
    new = flatten(canonical(kind, after)) if after is not None else {}
    out: list[FieldChange] = []
    for proto in set(old) | set(new):
        path = spec_path(proto)
        a, b = old.get(proto), new.get(proto)
        if path is None:
            continue
        if proto in SENSITIVE_PATHS:
            out.append(_secret_change(path, a, b, key, _origin(origins, path)))
        elif a != b:
            origin = _origin(origins, path, _first_added(path, a, b))
            out.append(FieldChange(path, spec_value(path, a), spec_value(path, b), origin=origin))
    return tuple(sorted(out, key=lambda f: order_key(kind, f.path)))


def has_changes(fields: tuple[FieldChange, ...]) -> bool:
    return any(f.changed for f in fields)


def _equal(kind: str, before: Message, after: Message) -> bool:
    """Equal in canonical form, so `field_changes` would find no change."""
    return canonical(kind, before) == canonical(kind, after)


def _secret_change(path: str, old: Any, new: Any, key: str, origin: str | None) -> FieldChange:
    """A password by its keyed fingerprint; a PIN only as set or not (sipconf.plan.changes)."""
    rotated = bool(old) and bool(new) and old != new
    if path == PASSWORD:
        return FieldChange(path, _fp(key, old), _fp(key, new), True, rotated, origin)
    return FieldChange(path, SECRET_SET if old else None, SECRET_SET if new else None, True, rotated, origin)


def _first_added(path: str, old: Any, new: Any) -> str | None:
    """The first number `new` lists that `old` does not: its entry is the line to point at."""
    if path not in NUMBER_FIELDS or not new:
        return None
    kept = set(old or ())
    return next((n for n in new if n not in kept), None)


def _origin(origins: Mapping[str, Origin] | None, path: str, number: str | None = None) -> str | None:
    # `is None`, not falsiness: a spec object's origins are worked out when first read, and
    # only the fields that changed need them.
    if origins is None:
        return None
    found = origins.get(f"{path}={number}") if number is not None else None
    found = found or origins.get(f"key:{path}")
    return str(found) if found is not None else None


def _fp(key: str, value: Any) -> str | None:
    return fingerprint(key, str(value)) if value else None


def diff(
    desired: DesiredState, inventory: Inventory, *, key: str, environ: Mapping[str, str] | None = None
) -> tuple[list[Change], list[Unmanaged], Side, Side]:
    """Changes, unmanaged notes, and the (live, desired) sides for route impact.

    Raises one UserError listing every ownership conflict (all of them, not the first).
    """
    errors: list[str] = []
    changes: list[Change] = []
    notes: list[Unmanaged] = []
    live_side: dict[tuple[str, str], Message] = {}
    want_side: dict[tuple[str, str], Message] = {}
    spec_keys = {(o.kind, o.name) for o in desired.objects()}

    for obj in desired.objects():
        try:
            live = inventory.one(obj.kind, obj.name)
        except UserError as err:
            errors.extend(f"{obj.origin}: {line}" for line in err.lines)
            continue
        if not obj.managed:
            # `managed: false`: never created, updated or deleted, whoever owns the live twin.
            if live is None:
                notes.append(Unmanaged(obj.kind, obj.name, "", "missing"))
                continue
            have = live_message(inventory, obj.kind, live.message)
            live_side[(obj.kind, obj.name)] = want_side[(obj.kind, obj.name)] = have
            fields = field_changes(obj.kind, have, unmanaged_message(obj, have, environ), key, obj.field_origins)
            if has_changes(fields):
                shown = tuple(f for f in fields if f.changed)
                notes.append(Unmanaged(obj.kind, obj.name, live.id, "differs", live.owner, shown))
            else:
                notes.append(Unmanaged(obj.kind, obj.name, live.id, "matches", live.owner))
            continue
        want = desired_message(obj, environ)
        if live is None:
            fields = field_changes(obj.kind, None, want, key, obj.field_origins)
            drift = any((e.kind, e.name) == (obj.kind, obj.name) for e in inventory.ledger.owned)
            changes.append(Change(CREATE, obj.kind, obj.name, fields, None, drift, str(obj.origin)))
            want_side[(obj.kind, obj.name)] = want
            continue
        have = live_message(inventory, obj.kind, live.message)
        live_side[(obj.kind, obj.name)] = have
        # Most objects of a big project are unchanged: equal canonical forms need no field list
        # (it is read only when something changed).
        fields = () if _equal(obj.kind, have, want) else field_changes(obj.kind, have, want, key, obj.field_origins)
        changed = has_changes(fields)
        if live.owned:
            want_side[(obj.kind, obj.name)] = want
            if changed:
                entry = inventory.ledger.owner_of(live.id)
                drift = entry is not None and bool(entry.digest) and entry.digest != digest(
                    obj.kind, live.message, inventory.trunk_names
                )
                changes.append(Change(UPDATE, obj.kind, obj.name, fields, live.id, drift, str(obj.origin)))
            continue
        want_side[(obj.kind, obj.name)] = have
        if not changed:
            notes.append(Unmanaged(obj.kind, obj.name, live.id, "matches", live.owner))
        else:
            errors.append(
                f"{obj.origin}: {obj.kind.replace('_', ' ')} {obj.name!r} exists live as {live.id}, which sipconf"
                f" does not own, and differs from the spec; run `sipconf import --adopt {obj.name}` to take it over"
            )

    for live in inventory.objects:
        if (live.kind, live.name) in spec_keys:
            continue
        have = live_message(inventory, live.kind, live.message)
        if live.owned:
            live_side[(live.kind, live.name)] = have
            fields = field_changes(live.kind, have, None, key)
            changes.append(Change(DELETE, live.kind, live.name, fields, live.id))
        else:
            live_side[(live.kind, live.id)] = have
            want_side[(live.kind, live.id)] = have
            notes.append(Unmanaged(live.kind, live.name, live.id, "not-in-spec", live.owner))
    if errors:
        raise UserError(*errors)
    changes.sort(key=lambda c: c.key)
    notes.sort(key=lambda n: (n.kind, n.name, n.live_id))
    return changes, notes, _side(live_side), _side(want_side)


def _side(objects: dict[tuple[str, str], Message]) -> Side:
    trunks = tuple(m for (kind, _n), m in sorted(objects.items(), key=lambda kv: kv[0]) if kind == INBOUND)
    rules = tuple(m for (kind, _n), m in sorted(objects.items(), key=lambda kv: kv[0]) if kind == RULE)
    return Side(trunks, rules)
