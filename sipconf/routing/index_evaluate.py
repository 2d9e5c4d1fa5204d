"""Rule evaluation and the SIP service's attribute overlay with per-trunk and per-rule facts
read once per state.

Equal to the literal `evaluate.evaluate_dispatch_rule` (upstream
`sip/sip.go:EvaluateDispatchRule`) for a valid rule, and to `attributes.sip_attributes`:
what depends only on the trunk or the rule (ids, room kind and prefix, PIN, attributes,
header maps, the merged media config) is read from the protobuf messages once; what the
call brings is applied per call. Every message and dict handed out is a fresh copy, as the
reference's are.
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
from sipconf.routing.rules import pin_and_room, rule_kind

_PROVIDERS = tuple((header.lower(), attribute) for header, attribute in PROVIDER_HEADERS)
_PROVIDER_NAMES = frozenset(header for header, _attribute in _PROVIDERS)


@dataclass(frozen=True, eq=False, slots=True)
class PreparedTrunk:
    trunk: sip.SIPInboundTrunkInfo
    trunk_id: str
    media: sip.SIPMediaConfig  # `media.upgrade(trunk)`
    headers: dict[str, str] | None  # None when empty, and so on
    headers_to_attributes: dict[str, str] | None
    attributes_to_headers: dict[str, str] | None
    header_attributes: tuple[tuple[str, str], ...]  # headers_to_attributes, lower-case header names
    include_headers: int
    ringing_timeout: Message | None
    max_call_duration: Message | None
    krisp: bool

    @staticmethod
    def of(trunk: sip.SIPInboundTrunkInfo) -> PreparedTrunk:
        return PreparedTrunk(
            trunk, trunk.sip_trunk_id, media_merge.upgrade(trunk), dict(trunk.headers) or None,
            dict(trunk.headers_to_attributes) or None, dict(trunk.attributes_to_headers) or None,
            tuple((header.lower(), attribute) for header, attribute in trunk.headers_to_attributes.items()),
            trunk.include_headers,
            trunk.ringing_timeout if trunk.HasField("ringing_timeout") else None,
            trunk.max_call_duration if trunk.HasField("max_call_duration") else None,
            trunk.krisp_enabled,
        )


@dataclass(frozen=True, eq=False, slots=True)
class PreparedRule:
    rule: sip.SIPDispatchRuleInfo
    rule_id: str
    kind: str
    pin: str
    room: str  # the direct room name, or the individual/callee prefix
    randomize: bool  # the room name gets `_<12 random>`
    hide_phone_number: bool
    attributes: dict[str, str] | None  # None when empty
    metadata: str
    room_preset: str
    room_config: Message | None
    media: sip.SIPMediaConfig  # `media.upgrade(rule)`
    krisp: bool

    @staticmethod
    def of(rule: sip.SIPDispatchRuleInfo) -> PreparedRule:
        """For a valid rule (its `rule` oneof set)."""
        kind = rule_kind(rule)
        pin, room = pin_and_room(rule)
        if kind == "dispatch_rule_individual":
            randomize = not rule.rule.dispatch_rule_individual.no_randomness
        else:
            randomize = kind == "dispatch_rule_callee" and rule.rule.dispatch_rule_callee.randomize
        return PreparedRule(
            rule, rule.sip_dispatch_rule_id, kind, pin, room, randomize, rule.hide_phone_number,
            dict(rule.attributes) or None, rule.metadata, rule.room_preset,
            rule.room_config if rule.HasField("room_config") else None, media_merge.upgrade(rule),
            rule.krisp_enabled,
        )


@dataclass(frozen=True, eq=False, slots=True)
class MergedMedia:
    """`media.merge(upgrade(trunk), upgrade(rule))` and its encryption, for one pair."""

    media: sip.SIPMediaConfig
    encryption: int

    @staticmethod
    def of(trunk: PreparedTrunk | None, rule: PreparedRule) -> MergedMedia:
        media = media_merge.merge(trunk.media if trunk is not None else None, rule.media)
        return MergedMedia(media, media_merge.encryption_of(media))


def evaluate(
    project_id: str,
    trunk: PreparedTrunk | None,
    rule: PreparedRule,
    merged: MergedMedia,
    call: CallFacts,
    request_trunk_id: str,
    rng: random.Random | None,
) -> tuple[Evaluation | None, LiveKitError | None]:
    """`evaluate_dispatch_rule(project_id, trunk, rule, call)` with the request's trunk id
    `request_trunk_id` and `merged` = `MergedMedia.of(trunk, rule)`."""
    trunk_id = trunk.trunk_id if trunk is not None else request_trunk_id
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
                sip_dispatch_rule_id=rule.rule_id, request_pin=True,
                media_encryption=merged.encryption, media=media,
            ), None
        if call.pin != rule.pin:
            return None, LiveKitError(PERMISSION_DENIED, WRONG_PIN)
    room, random_part = _room_name(rule, caller, call.to_user, rng)
    attrs[RULE_ID] = rule.rule_id
    out = Evaluation(
        result="ACCEPT", project_id=project_id, sip_trunk_id=trunk_id,
        sip_dispatch_rule_id=rule.rule_id, room_name=room,
        participant_identity=identity, participant_name="Phone " + caller,
        participant_metadata=rule.metadata, participant_attributes=attrs,
        room_preset=rule.room_preset, room_config=_copy_or_none(rule.room_config),
        media_encryption=merged.encryption, media=media, room_name_random=random_part,
    )
    if trunk is not None:
        # Empty maps are None here (nothing to read once the index outgrows the CPU's caches).
        if trunk.headers is not None:
            out.headers = dict(trunk.headers)
        if trunk.headers_to_attributes is not None:
            out.headers_to_attributes = dict(trunk.headers_to_attributes)
        if trunk.attributes_to_headers is not None:
            out.attributes_to_headers = dict(trunk.attributes_to_headers)
        out.include_headers = trunk.include_headers
        out.ringing_timeout = _copy_or_none(trunk.ringing_timeout)
        out.max_call_duration = _copy_or_none(trunk.max_call_duration)
    if rule.krisp or (trunk is not None and trunk.krisp):
        out.enabled_features = [sip.KRISP_ENABLED]
    return out, None


def _room_name(rule: PreparedRule, caller: str, called: str, rng: random.Random | None) -> tuple[str, bool]:
    if rule.kind == "dispatch_rule_direct":
        return rule.room, False
    own = caller if rule.kind == "dispatch_rule_individual" else called
    base = f"{rule.room}_{own}" if rule.room else own
    return (f"{base}_{random_suffix(rng)}", True) if rule.randomize else (base, False)


def overlay_attributes(
    base: dict[str, str],
    trunk: PreparedTrunk | None,
    headers: Sequence[tuple[str, str]],
    from_tag: str,
    call_id_full: str,
    call_status: str,
) -> dict[str, str]:
    """`sip_attributes`, with the INVITE's headers looked up by name once instead of per mapping.

    The provider mappings are applied twice, as the reference does, so that a header mapping
    of the trunk cannot overwrite them and the keys keep the reference's insertion order.
    """
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    attrs = dict(base)
    if trunk is not None and trunk.include_headers != sip.SIP_NO_HEADERS:
        attrs.update(included_headers(headers, trunk.include_headers))
    providers = {}
    if not _PROVIDER_NAMES.isdisjoint(first):
        providers = {attribute: first[header] for header, attribute in _PROVIDERS if header in first}
    attrs.update(providers)
    if trunk is not None:
        for header, attribute in trunk.header_attributes:
            if header in first:
                attrs[attribute] = first[header]
    attrs[CALL_TAG] = from_tag
    attrs[CALL_ID_FULL] = call_id_full
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
