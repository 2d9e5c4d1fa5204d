"""Twirp error bodies and codes (docs/livekit.md#api-errors)."""

from __future__ import annotations

import json

from livekit.protocol import sip

from sipconf.local import twirp
from sipconf.routing.errors import LiveKitError


def test_error_reply_status_and_body():
    reply = twirp.error_reply(LiveKitError("resource_exhausted", "sip status 486: Busy Here", {"sip_status_code": "486", "sip_status": "Busy Here"}))
    assert (reply.status, reply.content_type) == (429, "application/json")
    assert json.loads(reply.body) == {"code": "resource_exhausted", "msg": "sip status 486: Busy Here", "meta": {"sip_status_code": "486", "sip_status": "Busy Here"}}


def test_psrpc_and_plain_codes_map_to_twirp():
    assert json.loads(twirp.error_reply(LiveKitError("malformed_request", "x")).body) == {"code": "malformed", "msg": "x"}
    assert twirp.error_reply(LiveKitError("", "plain go error")).status == 500
    assert twirp.twirp_code("nonsense") == "unknown"


def test_encode_json_uses_proto_names_and_emits_defaults():
    reply = twirp.encode(sip.SIPTrunkInfo(sip_trunk_id="ST_a"), twirp.JSON)
    body = json.loads(reply.body)
    assert body["sip_trunk_id"] == "ST_a" and body["inbound_addresses"] == [] and reply.status == 200
    assert twirp.encode(sip.SIPTrunkInfo(sip_trunk_id="ST_a"), twirp.PROTOBUF).body == sip.SIPTrunkInfo(sip_trunk_id="ST_a").SerializeToString()
