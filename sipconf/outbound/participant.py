"""The internal outbound-call request LiveKit hands the SIP service
(docs/livekit.md#outbound-request).

`new_create_sip_participant_request` is LiveKit's `rpc.NewCreateSIPParticipantRequest`:
it resolves the trunk, caller id, headers, attributes and media of a validated
`CreateSIPParticipantRequest` (validate it first with `validate.validate`). The bridge
places outbound calls from the resulting `InternalRequest`.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field, fields
from typing import Any

from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from livekit.protocol import sip

from sipconf.routing import media as media_rules
from sipconf.routing.errors import FAILED_PRECONDITION, LiveKitError

ATTR_CALL_ID = "sip.callID"
ATTR_TRUNK_ID = "sip.trunkID"
ATTR_PHONE_NUMBER = "sip.phoneNumber"
ATTR_HOSTNAME = "sip.hostname"
ATTR_TRUNK_PHONE_NUMBER = "sip.trunkPhoneNumber"


@dataclass(frozen=True)
class InternalRequest:
    """`rpc.InternalCreateSIPParticipantRequest`; field names are its proto-JSON names."""

    project_id: str = ""
    sip_call_id: str = ""
    sip_trunk_id: str = ""
    address: str = ""
    hostname: str = ""
    destination_country: str = ""
    transport: int = sip.SIP_TRANSPORT_AUTO
    number: str = ""
    call_to: str = ""
    username: str = ""
    password: str = ""
    room_name: str = ""
    participant_identity: str = ""
    participant_name: str = ""
    participant_metadata: str = ""
    token: str = ""
    ws_url: str = ""
    dtmf: str = ""
    play_dialtone: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    headers_to_attributes: dict[str, str] = field(default_factory=dict)
    attributes_to_headers: dict[str, str] = field(default_factory=dict)
    include_headers: int = sip.SIP_NO_HEADERS
    wait_until_answered: bool = False
    participant_attributes: dict[str, str] = field(default_factory=dict)
    enabled_features: tuple[int, ...] = ()
    ringing_timeout: Duration | None = None
    max_call_duration: Duration | None = None
    media_encryption: int = sip.SIP_MEDIA_ENCRYPT_DISABLE
    media: sip.SIPMediaConfig | None = None
    sip_request_uri: sip.SIPRequestDest | None = None
    sip_from_header: sip.SIPNamedDest | None = None
    sip_to_header: sip.SIPNamedDest | None = None
    to_user_override: str = ""
    display_name: str | None = None  # proto3 optional: presence matters (docs/livekit.md#outbound-uris)
    destination: sip.Destination | None = None

    def to_json(self) -> dict[str, Any]:
        """Protobuf JSON (proto field names, enum names, defaults omitted; `{}` kept)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "transport":
                if value:
                    out[f.name] = sip.SIPTransport.Name(value)
            elif f.name == "include_headers":
                if value:
                    out[f.name] = sip.SIPHeaderOptions.Name(value)
            elif f.name == "media_encryption":
                if value:
                    out[f.name] = sip.SIPMediaEncryption.Name(value)
            elif f.name == "enabled_features":
                if value:
                    out[f.name] = [sip.SIPFeature.Name(v) for v in value]
            elif f.name == "display_name":
                if value is not None:
                    out[f.name] = value
            elif hasattr(value, "DESCRIPTOR"):
                out[f.name] = json_format.MessageToDict(value, preserving_proto_field_name=True)
            elif value:
                out[f.name] = dict(value) if isinstance(value, dict) else value
        return out


def _caller_number(req: sip.CreateSIPParticipantRequest, numbers, address: str, rng) -> str:
    if req.sip_number:
        number = req.sip_number
    elif numbers:
        number = rng.choice(list(numbers)) if rng is not None else secrets.choice(list(numbers))
    else:
        raise LiveKitError(FAILED_PRECONDITION, "no numbers on outbound trunk")
    # Twilio requires E.164 with the leading '+'.
    if address.endswith("twilio.com") and not number.startswith("+"):
        number = "+" + number
    return number


def _copy(msg):
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def new_create_sip_participant_request(
    project_id: str,
    call_id: str,
    from_hostname: str,
    ws_url: str,
    token: str,
    req: sip.CreateSIPParticipantRequest,
    trunk: sip.SIPOutboundTrunkInfo | None,
    rng: random.Random | None = None,
) -> InternalRequest:
    """The internal request for `req`, using the stored outbound `trunk` when given,
    else the request's inline `trunk` config. `rng` picks the caller id reproducibly.

    Raises LiveKitError(failed_precondition, "no numbers on outbound trunk").
    """
    headers: dict[str, str] = {}
    include_headers = sip.SIP_NO_HEADERS
    base_media: sip.SIPMediaConfig | None = None
    if trunk is not None:
        address, transport, country = trunk.address, trunk.transport, trunk.destination_country
        username, password, numbers = trunk.auth_username, trunk.auth_password, trunk.numbers
        h2a, a2h = dict(trunk.headers_to_attributes), dict(trunk.attributes_to_headers)
        headers.update(trunk.headers)
        include_headers = trunk.include_headers
        base_media = media_rules.upgrade(trunk)
        trunk_id = trunk.sip_trunk_id
    else:
        inline = req.trunk  # an unset inline config reads as empty, like Go's nil getters
        address, transport, country = inline.hostname, inline.transport, inline.destination_country
        username, password, numbers = inline.auth_username, inline.auth_password, ()
        h2a, a2h = dict(inline.headers_to_attributes), dict(inline.attributes_to_headers)
        trunk_id = ""

    number = _caller_number(req, numbers, address, rng)
    resolved_trunk_id = req.sip_trunk_id or trunk_id

    attrs = dict(req.participant_attributes)
    attrs[ATTR_CALL_ID] = call_id
    attrs[ATTR_TRUNK_ID] = resolved_trunk_id
    if not req.hide_phone_number:
        attrs[ATTR_PHONE_NUMBER] = req.sip_call_to
        attrs[ATTR_HOSTNAME] = address
        attrs[ATTR_TRUNK_PHONE_NUMBER] = number

    headers.update(req.headers)  # request headers win over the trunk's
    media = media_rules.merge(base_media, media_rules.upgrade(req))

    return InternalRequest(
        project_id=project_id,
        sip_call_id=call_id,
        sip_trunk_id=resolved_trunk_id,
        address=address,
        hostname=from_hostname,
        destination_country=country,
        transport=transport,
        number=number,
        call_to=req.sip_call_to,
        username=username,
        password=password,
        room_name=req.room_name,
        participant_identity=req.participant_identity or f"sip_{req.sip_call_to}",
        participant_name=req.participant_name,
        participant_metadata=req.participant_metadata,
        token=token,
        ws_url=ws_url,
        dtmf=req.dtmf,
        play_dialtone=req.play_dialtone or req.play_ringtone,
        headers=headers,
        headers_to_attributes=h2a,
        attributes_to_headers=a2h,
        include_headers=req.include_headers or include_headers,
        wait_until_answered=req.wait_until_answered,
        participant_attributes=attrs,
        enabled_features=(sip.KRISP_ENABLED,) if req.krisp_enabled else (),
        ringing_timeout=_copy(req.ringing_timeout) if req.HasField("ringing_timeout") else None,
        max_call_duration=_copy(req.max_call_duration) if req.HasField("max_call_duration") else None,
        media_encryption=media_rules.encryption_of(media),
        media=media,
        sip_request_uri=_copy(req.sip_request_uri) if req.HasField("sip_request_uri") else None,
        sip_from_header=_copy(req.sip_from_header) if req.HasField("sip_from_header") else None,
        sip_to_header=_copy(req.sip_to_header) if req.HasField("sip_to_header") else None,
        to_user_override=req.to_user_override,
        display_name=req.display_name if req.HasField("display_name") else None,
        destination=_copy(req.destination) if req.HasField("destination") else None,
    )
