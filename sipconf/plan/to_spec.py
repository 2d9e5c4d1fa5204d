"""Live objects -> a spec document (the YAML shape of sipconf.spec.models, version 1), for import.

The inverse of sipconf.spec.normalise: only non-default fields are written, so the spec reads
like one a person wrote. Secrets become references, never values: the spec's own
(`{env: VOXBONE_SIP_PASSWORD}`, `{file: PATH}`), which the ownership ledger recorded when sipconf
last wrote the object, or else an `{env: NAME}` named after the object; the caller prints the
variables to set. Objects this project does not own are written too, marked
`managed: false` (docs/ownership.md), so sipconf documents them but never changes them.
Loading the result and planning it against the same project shows no changes
(tests/plan/test_import.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from livekit.protocol import sip

from sipconf.model.kinds import INBOUND, KINDS, RULE
from sipconf.plan.canonical import canonical, from_live
from sipconf.plan.inventory import Inventory, LiveObject
from sipconf.spec.numbers import is_e164
from sipconf.plan.ranges import collapse
from sipconf.plan.spec_fields import NUMBER_FIELDS
from sipconf.routing.numbers import normalize_number

INCLUDE_HEADERS = {sip.SIP_NO_HEADERS: "none", sip.SIP_X_HEADERS: "x-headers", sip.SIP_ALL_HEADERS: "all"}
ENCRYPTION = {sip.SIP_MEDIA_ENCRYPT_DISABLE: "disable", sip.SIP_MEDIA_ENCRYPT_ALLOW: "allow", sip.SIP_MEDIA_ENCRYPT_REQUIRE: "require"}
TRANSPORT = {sip.SIP_TRANSPORT_AUTO: "auto", sip.SIP_TRANSPORT_UDP: "udp", sip.SIP_TRANSPORT_TCP: "tcp", sip.SIP_TRANSPORT_TLS: "tls"}
RULE_KIND = {"dispatch_rule_direct": "direct", "dispatch_rule_individual": "individual", "dispatch_rule_callee": "callee"}
SPEC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*", re.ASCII)  # sipconf.spec.values._NAME


@dataclass
class Imported:
    """The spec document, the secrets to export, and objects left out (with why).

    `spec` holds every live object; those this project does not own carry `managed: false`
    and are listed in `unmanaged` as (kind, name)."""

    spec: dict[str, Any]
    unmanaged: list[tuple[str, str]] = field(default_factory=list)
    variables: list[tuple[str, str]] = field(default_factory=list)  # (NAME, what it holds)
    skipped: list[str] = field(default_factory=list)


def env_name(*parts: str) -> str:
    name = re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")
    return name if name and not name[0].isdigit() else "SIPCONF_" + name


def import_spec(inventory: Inventory, owned_ids: set[str]) -> Imported:
    """Every live object as a spec entry; those not in `owned_ids` get `managed: false`."""
    out = Imported(_empty(inventory.project))
    doc = out.spec
    names: dict[tuple[str, str], list[LiveObject]] = {}
    for obj in inventory.objects:
        names.setdefault((obj.kind, obj.name), []).append(obj)
    for obj in sorted(inventory.objects, key=lambda o: (KINDS.index(o.kind), o.name, o.id)):
        if not SPEC_NAME.fullmatch(obj.name):
            out.skipped.append(f"{obj.kind.replace('_', ' ')} {obj.id}: its name {obj.name!r} is not a valid spec name; rename it in LiveKit")
            continue
        if len(names[(obj.kind, obj.name)]) > 1:
            ids = " and ".join(o.id for o in names[(obj.kind, obj.name)])
            out.skipped.append(f"{obj.kind.replace('_', ' ')} {obj.name!r}: two live objects share the name ({ids})")
            continue
        managed = obj.id in owned_ids
        variables: list[tuple[str, str]] = []
        model, secrets = from_live(obj.kind, obj.message, inventory.trunk_names)
        body = canonical(obj.kind, model)
        recorded = inventory.ledger.owner_of(obj.id) if managed else None
        refs = dict(recorded.secrets) if recorded is not None else {}
        if obj.kind == RULE:
            entry = _rule(obj.name, body, secrets, variables, refs)
        else:
            entry = (_inbound if obj.kind == INBOUND else _outbound)(obj.name, body, secrets, variables, refs)
        if not managed:
            entry = {"managed": False, **entry}
            out.unmanaged.append((obj.kind, obj.name))
            # Only compared, never written: a plan treats an unset one as unchanged.
            variables = [(var, f"{what}; unmanaged, optional") for var, what in variables]
        out.variables.extend(v for v in variables if v[0] not in {name for name, _what in out.variables})
        if obj.kind == RULE:
            doc["dispatch_rules"][obj.name] = entry
        else:
            doc["trunks"].setdefault(obj.name, {})["inbound" if obj.kind == INBOUND else "outbound"] = entry
    for key in ("trunks", "dispatch_rules"):
        if not doc[key]:
            del doc[key]
    return out


def _empty(project: str) -> dict[str, Any]:
    return {"version": 1, "project": project, "trunks": {}, "dispatch_rules": {}}


def _inbound(name: str, t: Message, secrets: dict[str, str], variables: list, refs: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _lists(out, t, ("numbers", "allowed_addresses", "allowed_numbers"), trunk=True)
    auth = _auth(name, "inbound", t, secrets, variables, refs)
    if t.auth_realm:
        auth["realm"] = t.auth_realm
    if auth:
        out["auth"] = auth
    _common(out, t)
    for fname in ("ringing_timeout", "max_call_duration"):
        if t.HasField(fname):
            out[fname] = _duration(getattr(t, fname))
    if t.ringing_timeout_status:
        out["ringing_timeout_status"] = int(t.ringing_timeout_status)
    if t.krisp_enabled:
        out["krisp"] = True
    return out


def _outbound(name: str, t: Message, secrets: dict[str, str], variables: list, refs: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"address": t.address}
    if t.transport:
        out["transport"] = TRANSPORT[t.transport]
    for fname in ("destination_country", "from_host"):
        if getattr(t, fname):
            out[fname] = getattr(t, fname)
    _lists(out, t, ("numbers",), trunk=True)
    auth = _auth(name, "outbound", t, secrets, variables, refs)
    if auth:
        out["auth"] = auth
    _common(out, t)
    return out


def _rule(name: str, r: Message, secrets: dict[str, str], variables: list, refs: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    which = r.rule.WhichOneof("rule")
    if which is not None:
        member = getattr(r.rule, which)
        body: dict[str, Any] = {}
        if which == "dispatch_rule_direct":
            body["room"] = member.room_name
        elif member.room_prefix:
            body["room_prefix"] = member.room_prefix
        if which == "dispatch_rule_individual" and member.no_randomness:
            body["no_randomness"] = True
        if which == "dispatch_rule_callee" and member.randomize:
            body["randomize"] = True
        if f"rule.{which}.pin" in secrets:
            body["pin"] = _reference(refs.get(f"rule.{which}.pin"), env_name(name, "pin"), f"PIN of dispatch rule {name}", variables)
        out[RULE_KIND[which]] = body
    if r.trunk_ids:
        out["trunks"] = list(r.trunk_ids)
    _lists(out, r, ("numbers", "inbound_numbers"))
    if r.hide_phone_number:
        out["hide_phone_number"] = True
    if r.attributes:
        out["attributes"] = dict(sorted(r.attributes.items()))
    for fname in ("metadata", "room_preset"):
        if getattr(r, fname):
            out[fname] = getattr(r, fname)
    if r.HasField("room_config"):
        out["room_config"] = _room_config(r.room_config)
    if r.krisp_enabled:
        out["krisp"] = True
    if r.HasField("media"):
        out["media"] = _media(r.media)
    return out


def _auth(name: str, half: str, t: Message, secrets: dict[str, str], variables: list, refs: dict[str, str]) -> dict[str, Any]:
    auth: dict[str, Any] = {}
    if t.auth_username:
        auth["username"] = t.auth_username
    if "auth_password" in secrets:
        what = f"password of the {half} trunk {name}"
        auth["password"] = _reference(refs.get("auth_password"), env_name(name, half, "password"), what, variables)
    return auth


def _reference(recorded: str | None, invented: str, what: str, variables: list) -> dict[str, str]:
    """A secret as the spec wrote it (`recorded`: `env:NAME` or `file:PATH`, from the ledger),
    else an `{env: NAME}` named after the object; a variable to set is added to `variables`."""
    kind, _, value = (recorded or "").partition(":")
    if kind == "file" and value:
        return {"file": value}
    name = value if kind == "env" and value else invented
    variables.append((name, what))
    return {"env": name}


def _common(out: dict[str, Any], t: Message) -> None:
    for fname in ("headers", "headers_to_attributes", "attributes_to_headers"):
        if getattr(t, fname):
            out[fname] = dict(sorted(getattr(t, fname).items()))
    if t.include_headers:
        out["include_headers"] = INCLUDE_HEADERS[t.include_headers]
    if t.HasField("media"):
        out["media"] = _media(t.media)
    if t.metadata:
        out["metadata"] = t.metadata


def _lists(out: dict[str, Any], msg: Message, names: tuple[str, ...], *, trunk: bool = False) -> None:
    """Lists as the spec writes them: numbers as ranges of consecutive ones; a trunk's numbers
    in the form the spec normalises them to (LiveKit matches a trunk's numbers normalised, a
    rule's exactly as written, so a rule's stay as they are)."""
    for fname in names:
        if getattr(msg, fname):
            values = list(getattr(msg, fname))
            if fname in NUMBER_FIELDS:
                values = _spec_numbers(values, trunk)
            out[fname] = values


def _spec_numbers(values: list[str], trunk: bool) -> list:
    """A number list as the spec writes it: E.164 numbers as ranges of consecutive ones, any
    other entry as `{user: ...}`. A trunk's `+1 (510) 555-0100` is written normalised, as
    LiveKit matches a trunk's numbers; a rule's entries compare exactly, so they stay as they are."""
    phones, users = [], []
    for value in dict.fromkeys(values):
        if trunk and not is_e164(value) and value.startswith("+") and is_e164(normalize_number(value)):
            value = normalize_number(value)
        (phones if is_e164(value) else users).append(value)
    return collapse(list(dict.fromkeys(phones))) + [{"user": value} for value in users]


def _media(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m.HasField("encryption"):
        out["encryption"] = ENCRYPTION[m.encryption]
    if m.HasField("media_timeout"):
        out["timeout"] = _duration(m.media_timeout)
    if m.codecs:
        out["codecs"] = [{"name": c.name, "rate": c.rate} if c.rate else c.name for c in m.codecs]
    if m.only_listed_codecs:
        out["only_listed_codecs"] = True
    return out


def _room_config(rc: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fname in ("name", "metadata"):
        if getattr(rc, fname):
            out[fname] = getattr(rc, fname)
    for fname in ("empty_timeout", "departure_timeout", "max_participants", "min_playout_delay", "max_playout_delay"):
        if getattr(rc, fname):
            out[fname] = int(getattr(rc, fname))
    if rc.sync_streams:
        out["sync_streams"] = True
    if rc.agents:
        out["agents"] = [{"agent_name": a.agent_name, **({"metadata": a.metadata} if a.metadata else {})} for a in rc.agents]
    if rc.tags:
        out["tags"] = dict(sorted(rc.tags.items()))
    return out


def _duration(d: Message) -> str:
    """Go duration syntax, which the spec loader parses (sipconf.spec.values.parse_duration)."""
    total = d.seconds * 10**9 + d.nanos
    if total % 10**9 == 0:
        return f"{total // 10**9}s"
    return f"{total}ns"
