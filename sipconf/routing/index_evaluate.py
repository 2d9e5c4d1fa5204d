"""Rule evaluation and the SIP service's attribute overlay with per-trunk and per-rule facts
read once per state.

Equal to the literal `evaluate.evaluate_dispatch_rule` (upstream
`sip/sip.go:EvaluateDispatchRule`) for a valid rule, and to `attributes.sip_attributes`:
what depends only on the trunk or the rule (room kind and prefix, PIN, attributes, header
maps, the merged media config) is read from the protobuf messages once, into configs that
trunks (and rules) with equal settings share; what the call brings is applied per call.
Every message and dict handed out is a fresh copy, as the reference's are.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Sequence

from google.protobuf.message import Message
from livekit.protocol import sip

from sipconf.routing import media as media_merge
from sipconf.routing.attributes import CALL_ID_FULL, CALL_STATUS, CALL_TAG, PROVIDER_HEADERS, included_headers
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import INTERNAL, PERMISSION_DENIED, LiveKitError
from sipconf.routing.evaluate import (
    CALL_ID, HOSTNAME, PHONE_NUMBER, RULE_ID, TRUNK_ID, TRUNK_PHONE_NUMBER, WRONG_PIN, Evaluation,
)
from sipconf.routing.ids import random_suffix
from sipconf.routing.index_shared import Shared
from sipconf.routing.rules import pin_and_room, rule_kind

_PROVIDERS = tuple((header.lower(), attribute) for header, attribute in PROVIDER_HEADERS)
_PROVIDER_NAMES = frozenset(header for header, _attribute in _PROVIDERS)
_PROVIDER_ATTRIBUTE = dict(_PROVIDERS)
_FIXED = frozenset([*_PROVIDER_ATTRIBUTE.values(), CALL_TAG, CALL_ID_FULL])
_KRISP = sip.KRISP_ENABLED
# The dataclasses' own constructors set each field through a keyword argument (a frozen one
# through `object.__setattr__` each); filling `__dict__` at once costs a third of that, per call.
_new = object.__new__


@dataclass(frozen=True, eq=False, slots=True)
class TrunkConfig:
    """What evaluation reads from an inbound trunk besides its id. Trunks with equal
    settings share one: a config read by every call stays in the CPU's caches."""

    media: sip.SIPMediaConfig  # `media.upgrade(trunk)`
    headers: dict[str, str] | None  # None when empty, and so on
    headers_to_attributes: dict[str, str] | None
    attributes_to_headers: dict[str, str] | None
    header_attributes: tuple[tuple[str, str], ...]  # headers_to_attributes, lower-case header names
    include_headers: int
    ringing_timeout: Message | None
    max_call_duration: Message | None
    krisp: bool
    # A header mapping writes an attribute the overlay sets again after it (a provider's, the
    # tag or the Call-ID): only then does the second round change anything.
    maps_fixed: bool = False

    @staticmethod
    def of(trunk: sip.SIPInboundTrunkInfo, configs: dict[tuple, TrunkConfig]) -> TrunkConfig:
        """The trunk's config, or an equal one already in `configs` (which it joins)."""
        ringing = trunk.ringing_timeout if trunk.HasField("ringing_timeout") else None
        longest = trunk.max_call_duration if trunk.HasField("max_call_duration") else None
        # Maps keep their order: equal configs hand out dicts in the same order too.
        key = (
            _media_source(trunk), tuple(trunk.headers.items()), tuple(trunk.headers_to_attributes.items()),
            tuple(trunk.attributes_to_headers.items()), trunk.include_headers, _content(ringing),
            _content(longest), trunk.krisp_enabled,
        )
        config = configs.get(key)
        if config is None:
            config = configs[key] = TrunkConfig(
                media_merge.upgrade(trunk), dict(trunk.headers) or None, dict(trunk.headers_to_attributes) or None,
                dict(trunk.attributes_to_headers) or None,
                tuple((header.lower(), attribute) for header, attribute in trunk.headers_to_attributes.items()),
                trunk.include_headers, ringing, longest, trunk.krisp_enabled,
                not _FIXED.isdisjoint(trunk.headers_to_attributes.values()),
            )
        return config


# Evaluation without a trunk: the trunk-only fields stay empty.
_NO_TRUNK = TrunkConfig(sip.SIPMediaConfig(), None, None, None, (), sip.SIP_NO_HEADERS, None, None, False)


@dataclass(frozen=True, eq=False, slots=True)
class RuleConfig:
    """What evaluation reads from a valid dispatch rule besides its id and room name or
    prefix; rules with equal settings share one."""

    kind: str
    pin: str
    randomize: bool  # the room name gets `_<12 random>`
    hide_phone_number: bool
    attributes: dict[str, str] | None  # None when empty
    metadata: str
    room_preset: str
    room_config: Message | None
    media: sip.SIPMediaConfig  # `media.upgrade(rule)`
    krisp: bool

    @staticmethod
    def of(rule: sip.SIPDispatchRuleInfo, shared: Shared, configs: dict[tuple, RuleConfig]) -> RuleConfig:
        """For a valid rule (its `rule` oneof set); an equal config already in `configs` is reused."""
        kind = rule_kind(rule)
        pin, _room = pin_and_room(rule)
        if kind == "dispatch_rule_individual":
            randomize = not rule.rule.dispatch_rule_individual.no_randomness
        else:
            randomize = kind == "dispatch_rule_callee" and rule.rule.dispatch_rule_callee.randomize
        room_config = rule.room_config if rule.HasField("room_config") else None
        key = (
            kind, pin, randomize, rule.hide_phone_number, tuple(rule.attributes.items()), rule.metadata,
            rule.room_preset, _content(room_config), _media_source(rule), rule.krisp_enabled,
        )
        config = configs.get(key)
        if config is None:
            config = configs[key] = RuleConfig(
                shared(kind), shared(pin), randomize, rule.hide_phone_number, dict(rule.attributes) or None,
                shared(rule.metadata), shared(rule.room_preset), room_config, media_merge.upgrade(rule), rule.krisp_enabled,
            )
        return config


def _content(message: Message | None) -> bytes | None:
    return None if message is None else message.SerializeToString(deterministic=True)


def _media_source(obj) -> tuple[bytes | None, int]:
    """What `media.upgrade(obj)` is made of: equal sources upgrade to equal configs."""
    return _content(obj.media) if obj.HasField("media") else None, obj.media_encryption


@dataclass(frozen=True, eq=False, slots=True)
class MergedMedia:
    """`media.merge(upgrade(trunk), upgrade(rule))` and its encryption, for one pair."""

    media: sip.SIPMediaConfig
    encryption: int

    @staticmethod
    def of(trunk: TrunkConfig | None, rule: RuleConfig) -> MergedMedia:
        media = media_merge.merge(trunk.media if trunk is not None else None, rule.media)
        return MergedMedia(media, media_merge.encryption_of(media))


def evaluate(
    project_id: str,
    trunk_id: str,
    trunk: TrunkConfig | None,
    rule_id: str,
    rule: RuleConfig,
    room: str,
    merged: MergedMedia,
    call: CallFacts,
    rng: random.Random | None,
) -> tuple[Evaluation | None, LiveKitError | None]:
    """`evaluate_dispatch_rule(project_id, trunk, rule, call)` for a valid rule, with
    `trunk_id` the trunk's id (without a trunk: the request's), `room` the rule's room name
    or prefix and `merged` = `MergedMedia.of(trunk, rule)`."""
    attrs = dict(rule.attributes) if rule.attributes else {}
    if call.extra_attributes:
        attrs.update(call.extra_attributes)
    attrs[CALL_ID] = call.sip_call_id
    attrs[TRUNK_ID] = trunk_id
    caller = call.from_user
    if rule.hide_phone_number:
        if not caller:
            return None, LiveKitError(INTERNAL, "hide_phone_number with an empty caller")
        raw = caller.encode()
        identity = "sip_" + hashlib.sha256(raw).hexdigest()[:16]
        caller = raw[-(1 if len(raw) <= 4 else 4):].decode("utf-8", errors="replace")
    else:
        identity = "sip_" + caller
        attrs[PHONE_NUMBER] = caller
        attrs[HOSTNAME] = call.from_host
        attrs[TRUNK_PHONE_NUMBER] = call.to_user
    media = _copy(merged.media)
    if rule.pin:
        if not call.pin:
            return Evaluation(
                result="REQUEST_PIN", project_id=project_id, sip_trunk_id=trunk_id,
                sip_dispatch_rule_id=rule_id, request_pin=True,
                media_encryption=merged.encryption, media=media,
            ), None
        if call.pin != rule.pin:
            return None, LiveKitError(PERMISSION_DENIED, WRONG_PIN)
    room, random_part = _room_name(rule, room, caller, call.to_user, rng)
    attrs[RULE_ID] = rule_id
    fields = trunk or _NO_TRUNK
    out = _new(Evaluation)
    out.__dict__ = {  # every field of `Evaluation`, as its constructor would set them
        "result": "ACCEPT", "project_id": project_id, "sip_trunk_id": trunk_id, "sip_dispatch_rule_id": rule_id,
        "request_pin": False, "room_name": room, "participant_identity": identity,
        "participant_name": "Phone " + caller, "participant_metadata": rule.metadata,
        "participant_attributes": attrs, "room_preset": rule.room_preset,
        "room_config": _copy_or_none(rule.room_config), "media_encryption": merged.encryption, "media": media,
        # Empty maps are None in the config: nothing to read.
        "headers": dict(fields.headers) if fields.headers is not None else {},
        "headers_to_attributes": dict(fields.headers_to_attributes) if fields.headers_to_attributes is not None else {},
        "attributes_to_headers": dict(fields.attributes_to_headers) if fields.attributes_to_headers is not None else {},
        "include_headers": fields.include_headers, "ringing_timeout": _copy_or_none(fields.ringing_timeout),
        "max_call_duration": _copy_or_none(fields.max_call_duration),
        "enabled_features": [_KRISP] if rule.krisp or fields.krisp else [], "room_name_random": random_part,
    }
    return out, None


def _room_name(rule: RuleConfig, room: str, caller: str, called: str, rng: random.Random | None) -> tuple[str, bool]:
    if rule.kind == "dispatch_rule_direct":
        return room, False
    own = caller if rule.kind == "dispatch_rule_individual" else called
    base = f"{room}_{own}" if room else own
    return (f"{base}_{random_suffix(rng)}", True) if rule.randomize else (base, False)


def overlay_attributes(
    base: dict[str, str],
    trunk: TrunkConfig | None,
    headers: Sequence[tuple[str, str]],
    from_tag: str,
    call_id_full: str,
    call_status: str,
) -> dict[str, str]:
    """`sip_attributes`, with the INVITE's headers looked up by name once instead of per mapping.

    The provider mappings are applied twice, as the reference does, so that a header mapping
    of the trunk cannot overwrite them and the keys keep the reference's insertion order.
    """
    # The first header of each name (case-insensitive): later ones are written over by earlier.
    first = {name.lower(): value for name, value in reversed(headers)}
    attrs = dict(base)
    if trunk is not None and trunk.include_headers != sip.SIP_NO_HEADERS:
        attrs.update(included_headers(headers, trunk.include_headers))
    providers = None
    present = _PROVIDER_NAMES.intersection(first)
    if present:
        if len(present) == 1:
            (header,) = present
            providers = {_PROVIDER_ATTRIBUTE[header]: first[header]}
        else:
            providers = {attribute: first[header] for header, attribute in _PROVIDERS if header in present}
        attrs.update(providers)
    if trunk is not None:
        for header, attribute in trunk.header_attributes:
            if header in first:
                attrs[attribute] = first[header]
    attrs[CALL_TAG] = from_tag
    attrs[CALL_ID_FULL] = call_id_full
    if trunk is not None and trunk.maps_fixed:
        if providers:
            attrs.update(providers)
        attrs[CALL_TAG] = from_tag
        attrs[CALL_ID_FULL] = call_id_full
    attrs[CALL_STATUS] = call_status
    return attrs


def _copy(message: Message) -> Message:
    out = type(message)()
    out.CopyFrom(message)
    return out


def _copy_or_none(message: Message | None) -> Message | None:
    return None if message is None else _copy(message)
