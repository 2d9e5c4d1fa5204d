"""Tokens, grants, bodies and routes: the Twirp answers a client sees."""

from __future__ import annotations

import datetime
import json
import time

import aiohttp
import jwt
import pytest
from livekit import api
from livekit.protocol import sip

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"


def token(*, key=KEY, secret=SECRET, ttl=datetime.timedelta(hours=1), sip_admin=False, sip_call=False, video=None) -> str:
    t = api.AccessToken(key, secret).with_ttl(ttl)
    if sip_admin or sip_call:
        t = t.with_sip_grants(api.SIPGrants(admin=sip_admin, call=sip_call))
    if video is not None:
        t = t.with_grants(video)
    return t.to_jwt()


async def post(url: str, path: str, *, body=b"", content_type="application/protobuf", auth=None, method="POST"):
    headers = {"Content-Type": content_type}
    if auth is not None:
        headers["Authorization"] = auth
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url + path, data=body, headers=headers) as resp:
            raw = await resp.read()
            return resp.status, resp.headers.get("Content-Type", ""), raw


def err(raw: bytes) -> dict:
    return json.loads(raw)


LIST_INBOUND = "/twirp/livekit.SIP/ListSIPInboundTrunk"


def test_wrong_secret_is_unauthenticated_json(serve):
    async def scenario(cp, lk):
        async with api.LiveKitAPI(cp.url, KEY, "another-secret-that-is-also-long-enough-012") as bad:
            with pytest.raises(api.TwirpError) as info:
                await bad.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
        assert (info.value.code, info.value.status) == ("unauthenticated", 401)
        assert info.value.message == "invalid authorization token: bad signature: the token was not signed with the secret of API key 'testkey'"

    serve(scenario)


def test_unknown_key_missing_header_and_bad_prefix(serve):
    async def scenario(cp, lk):
        status, ctype, raw = await post(cp.url, LIST_INBOUND, auth="Bearer " + token(key="other", sip_admin=True))
        assert (status, ctype, err(raw)) == (401, "application/json", {"code": "unauthenticated", "msg": "invalid authorization token: unknown API key 'other'"})
        status, _, raw = await post(cp.url, LIST_INBOUND)
        assert (status, err(raw)["msg"]) == (401, "invalid authorization token: no Authorization header")
        status, _, raw = await post(cp.url, LIST_INBOUND, auth="Token abc")
        assert (status, err(raw)["msg"]) == (401, 'invalid authorization token: the Authorization header must start with "Bearer "')

    serve(scenario)


def test_expired_token_uses_the_injected_clock(serve):
    # The client mints 6 h tokens; a server clock 7 h ahead sees them expired (1 min leeway).
    async def scenario(cp, lk):
        with pytest.raises(api.TwirpError) as info:
            await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
        assert (info.value.code, info.value.message, info.value.status) == ("unauthenticated", "invalid authorization token: the token has expired", 401)

    serve(scenario, clock=lambda: time.time() + 7 * 3600)


def test_missing_grants_are_permissions_denied(serve):
    async def scenario(cp, lk):
        denied = {"code": "unauthenticated", "msg": "permissions denied"}
        status, _, raw = await post(cp.url, LIST_INBOUND, auth="Bearer " + token(sip_call=True))
        assert (status, err(raw)) == (401, denied)
        call = sip.CreateSIPParticipantRequest(sip_trunk_id="ST_x", sip_call_to="+1", room_name="r").SerializeToString()
        status, _, raw = await post(cp.url, "/twirp/livekit.SIP/CreateSIPParticipant", body=call, auth="Bearer " + token(sip_admin=True))
        assert (status, err(raw)) == (401, denied)
        other_room = api.VideoGrants(room_admin=True, room="elsewhere")
        body = api.ListParticipantsRequest(room="r").SerializeToString()
        status, _, raw = await post(cp.url, "/twirp/livekit.RoomService/ListParticipants", body=body, auth="Bearer " + token(video=other_room))
        assert (status, err(raw)) == (401, denied)
        status, _, raw = await post(cp.url, "/twirp/livekit.RoomService/ListRooms", auth="Bearer " + token(video=api.VideoGrants()))
        assert (status, err(raw)) == (401, denied)

    serve(scenario)


def test_bad_bodies_and_routes(serve):
    async def scenario(cp, lk):
        auth = "Bearer " + token(sip_admin=True)
        status, _, raw = await post(cp.url, LIST_INBOUND, body=b"\xff\xff\xff", auth=auth)
        assert (status, err(raw)) == (400, {"code": "malformed", "msg": "the protobuf request could not be decoded"})
        status, _, raw = await post(cp.url, LIST_INBOUND, body=b"{", content_type="application/json", auth=auth)
        assert (status, err(raw)) == (400, {"code": "malformed", "msg": "the json request could not be decoded"})
        status, _, raw = await post(cp.url, LIST_INBOUND, content_type="text/plain", auth=auth)
        assert (status, err(raw)) == (404, {"code": "bad_route", "msg": 'unexpected Content-Type: "text/plain"', "meta": {"twirp_invalid_route": f"POST {LIST_INBOUND}"}})
        status, _, raw = await post(cp.url, "/twirp/livekit.SIP/Nope", auth=auth)
        assert (status, err(raw)) == (404, {"code": "bad_route", "msg": 'no handler for path "/twirp/livekit.SIP/Nope"', "meta": {"twirp_invalid_route": "POST /twirp/livekit.SIP/Nope"}})
        status, _, raw = await post(cp.url, LIST_INBOUND, auth=auth, method="GET")
        assert (status, err(raw)["code"], err(raw)["msg"]) == (404, "bad_route", 'unsupported method "GET" (only POST is allowed)')
        status, _, raw = await post(cp.url, "/twirp/livekit.RoomService/SendData", auth=auth)
        assert (status, err(raw)) == (501, {"code": "unimplemented", "msg": "livekit.RoomService/SendData is not served by the sipconf control plane"})

    serve(scenario)


def test_json_bodies_and_base_path(serve):
    async def scenario(cp, lk):
        auth = "Bearer " + token(sip_admin=True)
        body = json.dumps({"trunk": {"name": "j", "numbers": ["+1"], "unknownField": 1}}).encode()
        status, ctype, raw = await post(cp.url, "/base/twirp/livekit.SIP/CreateSIPInboundTrunk", body=body, content_type="application/json; charset=utf-8", auth=auth)
        assert (status, ctype) == (200, "application/json")
        out = json.loads(raw)
        assert out["name"] == "j" and out["numbers"] == ["+1"] and out["sip_trunk_id"].startswith("ST_")
        assert out["allowed_addresses"] == []  # unpopulated fields are emitted, proto names
        async with api.LiveKitAPI(cp.url + "/base", KEY, SECRET) as based:
            listed = await based.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
        assert [t.name for t in listed.items] == ["j"]

    serve(scenario)


def test_apply_lock_endpoints(serve):
    now = [1000.0]

    def fake_time_token(**sip_grant) -> str:
        # Minted on the server's fake clock, so the lock TTL and the token share one time line.
        claims = {"iss": KEY, "sub": "", "nbf": now[0], "exp": now[0] + 3600, "sip": sip_grant}
        return "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")

    async def scenario(cp, lk):
        auth = fake_time_token(admin=True)
        base = "/twirp/sipconf.Local/"
        status, _, raw = await post(cp.url, base + "AcquireLock", body=b'{"owner": "ci-1", "ttl_seconds": 60}', content_type="application/json", auth=auth)
        assert (status, json.loads(raw)) == (200, {"owner": "ci-1", "expires_at": 1060.0})
        status, _, raw = await post(cp.url, base + "AcquireLock", body=b'{"owner": "ci-2"}', content_type="application/json", auth=auth)
        assert (status, err(raw)) == (409, {"code": "aborted", "msg": 'apply lock is held by "ci-1" for another 60s', "meta": {"owner": "ci-1", "expires_at": "1060.0"}})
        status, _, raw = await post(cp.url, base + "ReleaseLock", body=b'{"owner": "ci-2"}', content_type="application/json", auth=auth)
        assert (status, err(raw)) == (412, {"code": "failed_precondition", "msg": 'apply lock is not held by "ci-2"'})
        now[0] += 61  # the TTL passed: a killed apply does not wedge the lock
        status, _, raw = await post(cp.url, base + "AcquireLock", body=b'{"owner": "ci-2", "ttl_seconds": 5}', content_type="application/json", auth=auth)
        assert (status, json.loads(raw)["owner"]) == (200, "ci-2")
        status, _, raw = await post(cp.url, base + "ReleaseLock", body=b'{"owner": "ci-2"}', content_type="application/json", auth=auth)
        assert (status, json.loads(raw)) == (200, {})
        status, _, raw = await post(cp.url, base + "GetLock", body=b"{}", content_type="application/json", auth=auth)
        assert json.loads(raw) == {"owner": "", "expires_at": 0}
        status, _, raw = await post(cp.url, base + "AcquireLock", body=b'{"owner": "x"}', content_type="application/json", auth=fake_time_token(call=True))
        assert (status, err(raw)) == (401, {"code": "unauthenticated", "msg": "permissions denied"})

    serve(scenario, clock=lambda: now[0])
