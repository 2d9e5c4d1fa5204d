"""Dispatch-rule evaluation: room, participant and media for a selected rule
(docs/livekit.md#rule-evaluation and #media-merge)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Literal

from google.protobuf import duration_pb2, json_format
from livekit.protocol import room as room_pb
from livekit.protocol import sip

from sipconf.routing import media as media_merge
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import INTERNAL, PERMISSION_DENIED, LiveKitError
from sipconf.routing.ids import random_suffix
from sipconf.routing.rules import pin_and_room, rule_kind, rule_label
from sipconf.routing.trace import Decision, new_trace

WRONG_PIN = "Incorrect PIN for SIP room"
NO_RULE = "no dispatch rule"

# Participant attribute names (docs/livekit.md#attributes).
CALL_ID, TRUNK_ID, RULE_ID = "sip.callID", "sip.trunkID", "sip.ruleID"
PHONE_NUMBER, TRUNK_PHONE_NUMBER, HOSTNAME = "sip.phoneNumber", "sip.trunkPhoneNumber", "sip.hostname"


@dataclass
class Evaluation:
    """LiveKit's `EvaluateSIPDispatchRulesResponse`, the fields routing decides.

    Trunk-only fields (`headers` … `max_call_duration`) stay empty/None without a trunk.
    `media` is None only when there was no rule.
    """

    result: Literal["ACCEPT", "REQUEST_PIN"]
    project_id: str = ""
    sip_trunk_id: str = ""
    sip_dispatch_rule_id: str = ""
    request_pin: bool = False
    room_name: str = ""
    participant_identity: str = ""
    participant_name: str = ""
    participant_metadata: str = ""
    participant_attributes: dict[str, str] = field(default_factory=dict)
    room_preset: str = ""
    room_config: room_pb.RoomConfiguration | None = None
    media_encryption: int = sip.SIP_MEDIA_ENCRYPT_DISABLE
    media: sip.SIPMediaConfig | None = None
    headers: dict[str, str] = field(default_factory=dict)
    headers_to_attributes: dict[str, str] = field(default_factory=dict)
    attributes_to_headers: dict[str, str] = field(default_factory=dict)
    include_headers: int = sip.SIP_NO_HEADERS
    ringing_timeout: duration_pb2.Duration | None = None
    max_call_duration: duration_pb2.Duration | None = None
    enabled_features: list[int] = field(default_factory=list)
    room_name_random: bool = False  # the room name ends in a random `_<12 chars>` suffix


def evaluate_dispatch_rule(
    project_id: str,
    trunk: sip.SIPInboundTrunkInfo | None,
    rule: sip.SIPDispatchRuleInfo | None,
    call: CallFacts,
    rng: random.Random | None = None,
    with_trace: bool = True,
) -> Decision[Evaluation]:
    """What LiveKit does with the selected `rule` for `call` on `trunk` (docs/livekit.md#rule-evaluation).

    Without `with_trace` no reason is formatted and the trace is empty.
    """
    trace = new_trace(with_trace)
    if rule is None:  # 9. "no rule -> plain error `no dispatch rule`"
        trace.append("no dispatch rule to evaluate")
        return Decision(None, LiveKitError("", NO_RULE), tuple(trace))
    if rule_kind(rule) is None:  # 9. "Oneof unset -> invalid_argument"
        try:
            pin_and_room(rule)
        except LiveKitError as err:
            if with_trace:
                trace.append(f"rule {rule_label(rule)} has no room rule: {err.message}")
            return Decision(None, err, tuple(trace))
    # 1. trunk id: the trunk's, else the request's.
    trunk_id = trunk.sip_trunk_id if trunk is not None else call.sip_trunk_id
    # 2. attributes: rule < extra_attributes < sip.callID / sip.trunkID.
    attrs = dict(rule.attributes)
    attrs.update(call.extra_attributes)
    attrs[CALL_ID] = call.sip_call_id
    attrs[TRUNK_ID] = trunk_id
    # 3. caller identity, masked when hide_phone_number.
    caller = call.from_user
    identity, name = f"sip_{caller}", f"Phone {caller}"
    if rule.hide_phone_number:
        if not caller:
            # LiveKit slices from[len-1:] and panics; refuse instead of inventing a value.
            trace.append("the rule hides the phone number but the caller is empty (LiveKit crashes here)")
            return Decision(None, LiveKitError(INTERNAL, "hide_phone_number with an empty caller"), tuple(trace))
        raw = caller.encode()
        identity = "sip_" + hashlib.sha256(raw).hexdigest()[:16]
        keep = 1 if len(raw) <= 4 else 4  # byte-based, as in Go
        caller = raw[-keep:].decode("utf-8", errors="replace")
        name = f"Phone {caller}"
        if with_trace:
            trace.append(f"the phone number is hidden: identity {identity}, shown as {caller}")
    else:
        attrs[PHONE_NUMBER] = call.from_user
        attrs[HOSTNAME] = call.from_host
        attrs[TRUNK_PHONE_NUMBER] = call.to_user
    # 4. media: merge(upgrade(trunk), upgrade(rule)) (docs/livekit.md#media-merge).
    media = media_merge.merge(
        media_merge.upgrade(trunk) if trunk is not None else None, media_merge.upgrade(rule)
    )
    encryption = media_merge.encryption_of(media)
    # 5. PIN.
    pin, room = pin_and_room(rule)
    if pin and not call.pin:
        if with_trace:
            trace.append(f"rule {rule_label(rule)} needs a PIN: answer and ask for it")
        return Decision(Evaluation(
            result="REQUEST_PIN", project_id=project_id, sip_trunk_id=trunk_id,
            sip_dispatch_rule_id=rule.sip_dispatch_rule_id, request_pin=True,
            media_encryption=encryption, media=media,
        ), None, tuple(trace))
    if pin and call.pin != pin:
        if with_trace:
            trace.append(f"the PIN entered does not open rule {rule_label(rule)}")
        return Decision(None, LiveKitError(PERMISSION_DENIED, WRONG_PIN), tuple(trace))
    if pin:
        trace.append("the PIN entered is correct")
    # 6. room name.
    room, random_part = _room_name(rule, room, caller, call.to_user, rng)
    if with_trace:
        trace.append(f"room {room}" + (" (the last 12 characters are random)" if random_part else ""))
    # 7. accept.
    attrs[RULE_ID] = rule.sip_dispatch_rule_id
    out = Evaluation(
        result="ACCEPT", project_id=project_id, sip_trunk_id=trunk_id,
        sip_dispatch_rule_id=rule.sip_dispatch_rule_id, room_name=room,
        participant_identity=identity, participant_name=name, participant_metadata=rule.metadata,
        participant_attributes=attrs, room_preset=rule.room_preset,
        room_config=_copy(rule.room_config) if rule.HasField("room_config") else None,
        media_encryption=encryption, media=media, room_name_random=random_part,
    )
    # 8. trunk-only fields; krisp from trunk or rule.
    if trunk is not None:
        out.headers = dict(trunk.headers)
        out.headers_to_attributes = dict(trunk.headers_to_attributes)
        out.attributes_to_headers = dict(trunk.attributes_to_headers)
        out.include_headers = trunk.include_headers
        out.ringing_timeout = _copy(trunk.ringing_timeout) if trunk.HasField("ringing_timeout") else None
        out.max_call_duration = _copy(trunk.max_call_duration) if trunk.HasField("max_call_duration") else None
    if rule.krisp_enabled or (trunk is not None and trunk.krisp_enabled):
        out.enabled_features = [sip.KRISP_ENABLED]
    if with_trace:
        trace.append(f"participant {identity} ({name}) joins room {room}")
    return Decision(out, None, tuple(trace))


def _room_name(
    rule: sip.SIPDispatchRuleInfo, room: str, caller: str, called: str, rng: random.Random | None
) -> tuple[str, bool]:
    """Room naming (docs/livekit.md#room-naming): direct = room_name; individual =
    [prefix_]caller[_random] unless no_randomness; callee = [prefix_]called[_random] only if
    randomize (never masked)."""
    kind = rule_kind(rule)
    if kind == "dispatch_rule_direct":
        return room, False
    if kind == "dispatch_rule_individual":
        base = f"{room}_{caller}" if room else caller
        randomize = not rule.rule.dispatch_rule_individual.no_randomness
    else:
        base = f"{room}_{called}" if room else called
        randomize = rule.rule.dispatch_rule_callee.randomize
    return (f"{base}_{random_suffix(rng)}", True) if randomize else (base, False)


def _copy(msg):
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def evaluation_to_dict(ev: Evaluation) -> dict:
    """Protobuf-JSON form of the response (proto field names, enum names, `"30s"` durations,
    defaults omitted; `media: {}` is kept because a present empty message is not absent)."""
    out: dict = {"result": ev.result}
    scalars = {
        "project_id": ev.project_id, "sip_trunk_id": ev.sip_trunk_id,
        "sip_dispatch_rule_id": ev.sip_dispatch_rule_id, "request_pin": ev.request_pin,
        "room_name": ev.room_name, "participant_identity": ev.participant_identity,
        "participant_name": ev.participant_name, "participant_metadata": ev.participant_metadata,
        "participant_attributes": ev.participant_attributes, "room_preset": ev.room_preset,
        "headers": ev.headers, "headers_to_attributes": ev.headers_to_attributes,
        "attributes_to_headers": ev.attributes_to_headers,
    }
    out.update({key: value for key, value in scalars.items() if value})
    if ev.media_encryption != sip.SIP_MEDIA_ENCRYPT_DISABLE:
        out["media_encryption"] = sip.SIPMediaEncryption.Name(ev.media_encryption)
    if ev.include_headers != sip.SIP_NO_HEADERS:
        out["include_headers"] = sip.SIPHeaderOptions.Name(ev.include_headers)
    if ev.enabled_features:
        out["enabled_features"] = [sip.SIPFeature.Name(f) for f in ev.enabled_features]
    for key in ("room_config", "media", "ringing_timeout", "max_call_duration"):
        msg = getattr(ev, key)
        if msg is not None:
            out[key] = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    return out
