"""Validated spec models -> the frozen `DesiredState` of LiveKit protobuf messages.

Normalise once: ranges expanded, trunk numbers checked for duplicates, metadata serialised,
secrets lifted out of the messages into `SecretRef`s, every object tagged with its origin and
the origins of its fields. Ids are the spec names (sipconf.model).
"""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

from google.protobuf.message import Message
from livekit.protocol import sip

from sipconf.issues import Issue
from sipconf.model import DesiredObject, DesiredState, Origin, SecretRef
from sipconf.routing.numbers import normalize_number
from sipconf.spec import models
from sipconf.spec.numbers import NumberEntry, expand_entries
from sipconf.spec.values import Duration, SecretValue
from sipconf.spec.yamlsrc import Path, Positions

INCLUDE_HEADERS = {"none": sip.SIP_NO_HEADERS, "x-headers": sip.SIP_X_HEADERS, "all": sip.SIP_ALL_HEADERS}
ENCRYPTION = {
    "disable": sip.SIP_MEDIA_ENCRYPT_DISABLE,
    "allow": sip.SIP_MEDIA_ENCRYPT_ALLOW,
    "require": sip.SIP_MEDIA_ENCRYPT_REQUIRE,
}
TRANSPORT = {
    "auto": sip.SIP_TRANSPORT_AUTO,
    "udp": sip.SIP_TRANSPORT_UDP,
    "tcp": sip.SIP_TRANSPORT_TCP,
    "tls": sip.SIP_TRANSPORT_TLS,
}
RULE_FIELD = {"direct": "dispatch_rule_direct", "individual": "dispatch_rule_individual", "callee": "dispatch_rule_callee"}


class FieldOrigins(Mapping[str, Origin]):
    """An object's `field_origins`, worked out the first time they are read. Only the objects
    an issue is about are ever asked, so a large spec does not pay for every field of every
    object (the positions they come from are kept until then)."""

    def __init__(self, compute: Callable[[], dict[str, Origin]]) -> None:
        self._compute: Callable[[], dict[str, Origin]] | None = compute
        self._table: dict[str, Origin] = {}

    def _origins(self) -> dict[str, Origin]:
        if self._compute is not None:
            self._table, self._compute = self._compute(), None
        return self._table

    def __getitem__(self, name: str) -> Origin:
        return self._origins()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._origins())

    def __len__(self) -> int:
        return len(self._origins())

    def __repr__(self) -> str:
        return f"FieldOrigins({self._origins()!r})"


class Normaliser:
    def __init__(self, spec: models.Spec, positions: Positions, *, source: str) -> None:
        self.spec = spec
        self.positions = positions
        self.source = source
        self.base_dir = os.path.dirname(os.path.abspath(source))
        self.issues: list[Issue] = []

    def state(self, *, environment: str | None, url: str | None) -> DesiredState:
        inbound, outbound, rules = [], [], []
        for name, trunk in self.spec.trunks.items():
            if trunk.inbound is not None:
                inbound.append(self._inbound(name, trunk.inbound, ("trunks", name, "inbound")))
            if trunk.outbound is not None:
                outbound.append(self._outbound(name, trunk.outbound, ("trunks", name, "outbound")))
        for name, rule in self.spec.dispatch_rules.items():
            rules.append(self._rule(name, rule, ("dispatch_rules", name)))
        return DesiredState(
            source=self.source,
            version=self.spec.version,
            project=self.spec.project,
            environment=environment,
            url=url,
            inbound=tuple(inbound),
            outbound=tuple(outbound),
            rules=tuple(rules),
        )

    # -- objects -------------------------------------------------------------------------

    def _inbound(self, name: str, t: models.InboundTrunk, path: Path) -> DesiredObject:
        msg = sip.SIPInboundTrunkInfo(
            sip_trunk_id=name,
            name=name,
            metadata=t.metadata,
            numbers=self._trunk_numbers(t.numbers, path + ("numbers",)),
            allowed_addresses=t.allowed_addresses,
            allowed_numbers=self._trunk_numbers(t.allowed_numbers, path + ("allowed_numbers",)),
            headers=t.headers,
            headers_to_attributes=t.headers_to_attributes,
            attributes_to_headers=t.attributes_to_headers,
            include_headers=INCLUDE_HEADERS[t.include_headers],
            krisp_enabled=t.krisp,
        )
        secrets: dict[str, SecretRef] = {}
        if t.auth is not None:
            msg.auth_username = t.auth.username
            msg.auth_realm = t.auth.realm
            self._secret(secrets, "auth_password", t.auth.password, path + ("auth", "password"))
        _duration(msg, "ringing_timeout", t.ringing_timeout)
        _duration(msg, "max_call_duration", t.max_call_duration)
        if t.ringing_timeout_status is not None:
            if t.ringing_timeout_status in sip.SIPStatusCode.values():
                msg.ringing_timeout_status = t.ringing_timeout_status
            else:
                self._error("invalid-value", f"unknown SIP status code {t.ringing_timeout_status}", path + ("ringing_timeout_status",))
        self._media(msg, t.media)
        return self._object("inbound_trunk", name, msg, secrets, path, managed=t.managed)

    def _outbound(self, name: str, t: models.OutboundTrunk, path: Path) -> DesiredObject:
        msg = sip.SIPOutboundTrunkInfo(
            sip_trunk_id=name,
            name=name,
            metadata=t.metadata,
            address=t.address,
            transport=TRANSPORT[t.transport],
            destination_country=t.destination_country,
            from_host=t.from_host,
            numbers=self._trunk_numbers(t.numbers, path + ("numbers",)),
            headers=t.headers,
            headers_to_attributes=t.headers_to_attributes,
            attributes_to_headers=t.attributes_to_headers,
            include_headers=INCLUDE_HEADERS[t.include_headers],
        )
        secrets: dict[str, SecretRef] = {}
        if t.auth is not None:
            msg.auth_username = t.auth.username
            self._secret(secrets, "auth_password", t.auth.password, path + ("auth", "password"))
        self._media(msg, t.media)
        return self._object("outbound_trunk", name, msg, secrets, path, managed=t.managed)

    def _rule(self, name: str, r: models.DispatchRule, path: Path) -> DesiredObject:
        msg = sip.SIPDispatchRuleInfo(
            sip_dispatch_rule_id=name,
            name=name,
            # A rule naming a trunk without an inbound half stays as written: that is a check.
            trunk_ids=r.trunks or [],
            hide_phone_number=r.hide_phone_number,
            # Dispatch-rule matching compares numbers as exact strings: they stay as written.
            numbers=expand_entries(r.numbers),
            inbound_numbers=expand_entries(r.inbound_numbers),
            metadata=r.metadata,
            attributes=r.attributes,
            room_preset=r.room_preset,
            krisp_enabled=r.krisp,
        )
        secrets: dict[str, SecretRef] = {}
        kind = r.kind
        body = getattr(r, kind)
        target = getattr(msg.rule, RULE_FIELD[kind])
        target.SetInParent()  # the oneof is set even when every field is at its default
        if kind == "direct":
            target.room_name = body.room
        else:
            target.room_prefix = body.room_prefix
        if kind == "individual":
            target.no_randomness = body.no_randomness
        if kind == "callee":
            target.randomize = body.randomize
        self._secret(secrets, f"rule.{RULE_FIELD[kind]}.pin", body.pin, path + (kind, "pin"))
        if r.room_config is not None:
            _room_config(msg.room_config, r.room_config)
        self._media(msg, r.media)
        return self._object("dispatch_rule", name, msg, secrets, path, managed=r.managed)

    # -- pieces --------------------------------------------------------------------------

    def _object(
        self, kind: Any, name: str, msg: Message, secrets: dict[str, SecretRef], path: Path, *, managed: bool = True
    ) -> DesiredObject:
        # What the field origins need, and no more: the object's positions and its number
        # entries (not the whole spec, which is then freed once loading is done).
        sub = self.positions.subtree(path)
        entries = {f: _get(self.spec, path + (f,)) or [] for f in ("numbers", "allowed_numbers", "inbound_numbers")}
        return DesiredObject(
            kind=kind,
            name=name,
            origin=self.positions.key(path),
            message=msg,
            secrets=MappingProxyType(secrets),
            field_origins=FieldOrigins(lambda: field_origins(sub, entries)),
            managed=managed,
        )

    def _trunk_numbers(self, entries: list[NumberEntry], path: Path) -> list[str]:
        """The trunk's numbers, each once. Trunk matching compares numbers raw or normalised
        (LiveKit's NormalizeNumber), so two entries that normalise alike are one number."""
        numbers: list[str] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            for number in entry.expand():
                key = normalize_number(number) if entry.user else number
                if key in seen:
                    first = self.positions.value(path + (seen[key],))
                    self._error("duplicate-number", f"number '{number}' is listed more than once (first at {first})", path + (i,))
                    continue
                seen[key] = i
                numbers.append(number)
        return numbers

    def _secret(self, out: dict[str, SecretRef], field: str, value: SecretValue | None, path: Path) -> None:
        """Lift a secret out of the message. (Literal passwords were refused during validation
        unless allowed; literal PINs are room codes and always allowed.)"""
        if value is None or value.literal == "":
            return
        file = os.path.join(self.base_dir, value.file) if value.file else None
        out[field] = SecretRef(env=value.env, file=file, literal=value.literal, origin=self.positions.value(path))

    def _media(self, msg: Any, media: models.Media | None) -> None:
        if media is None:
            return
        msg.media.SetInParent()
        if media.encryption is not None:
            msg.media.encryption = ENCRYPTION[media.encryption]
        _duration(msg.media, "media_timeout", media.timeout)
        msg.media.codecs.extend(sip.SIPCodec(name=c.name, rate=c.rate) for c in media.codecs)
        msg.media.only_listed_codecs = media.only_listed_codecs

    def _error(self, code: str, message: str, path: Path) -> None:
        self.issues.append(Issue("error", code, message, self.positions.value(path)))


def field_origins(sub: Positions, entries: dict[str, list[NumberEntry]]) -> dict[str, Origin]:
    """Dotted spec paths under an object (`auth.password`, `media.codecs.0`) -> value origins;
    `key:<path>` -> the origin of a mapping key (`key:headers.X-Foo`, for a bad header name);
    `numbers=<number>` for every expanded number, at the entry it came from."""
    values: dict[str, Origin] = {}
    keys: dict[str, Origin] = {}
    for dotted, key, value in sub.walk_dotted():
        if value is not None:
            values[dotted] = value
        if key is not None:
            keys["key:" + dotted] = key
    numbers: dict[str, Origin] = {}
    for field, listed in entries.items():
        for i, entry in enumerate(listed):
            origin = sub.value_at((field, i))
            if origin is None:
                continue
            for number in entry.expand():
                numbers.setdefault(f"{field}={number}", origin)
    return values | keys | numbers


def _duration(msg: Any, field: str, value: Duration | None) -> None:
    if value is not None:
        seconds, nanos = value.seconds_nanos
        getattr(msg, field).seconds = seconds
        getattr(msg, field).nanos = nanos


def _room_config(out: Any, rc: models.RoomConfig) -> None:
    out.name = rc.name
    out.metadata = rc.metadata
    out.sync_streams = rc.sync_streams
    for field in ("empty_timeout", "departure_timeout", "max_participants", "min_playout_delay", "max_playout_delay"):
        value = getattr(rc, field)
        if value is not None:
            setattr(out, field, value)
    for agent in rc.agents:
        out.agents.add(agent_name=agent.agent_name, metadata=agent.metadata)
    for key, value in rc.tags.items():
        out.tags[key] = value


def _get(model: Any, path: Path) -> Any:
    for part in path:
        model = model.get(part) if isinstance(model, dict) else getattr(model, part, None)
        if model is None:
            return None
    return model
