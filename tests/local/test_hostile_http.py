"""Hostile HTTP input on 127.0.0.1: deeply nested JSON, numbers no float holds, requests
aiohttp cannot parse. Each gets a 4xx with a reason; nothing reaches the log as a traceback."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import aiohttp
from livekit import api
from livekit.protocol import sip

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"
LOCK = "/twirp/sipconf.Local/AcquireLock"
DEEP = 100_000


def admin_token() -> str:
    return "Bearer " + api.AccessToken(KEY, SECRET).with_sip_grants(api.SIPGrants(admin=True)).to_jwt()


async def post_json(url: str, path: str, body: bytes) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Authorization": admin_token()}
    async with aiohttp.ClientSession() as http:
        async with http.post(url + path, data=io.BytesIO(body), headers=headers) as resp:
            return resp.status, json.loads(await resp.read())


async def raw_http(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()  # aiohttp closes the connection after a parse error
    writer.close()
    await writer.wait_closed()
    return answer


def test_deep_json_and_huge_numbers_are_invalid_argument_not_500(serve):
    async def scenario(cp, lk):
        invalid = "invalid_argument"
        out_of_range = {"code": invalid, "msg": "ttl_seconds must be in (0, 86400]"}
        cases = [
            (b"[" * DEEP + b"]" * DEEP, {"code": invalid, "msg": "the json request is nested too deeply"}),
            (b'{"owner": ' * DEEP + b"1" + b"}" * DEEP, {"code": invalid, "msg": "the json request is nested too deeply"}),
            (b'{"owner": "ci", "ttl_seconds": %d}' % 10 ** 400,
             {"code": invalid, "msg": "the json request has an integer of more than 20 digits"}),
            (b'{"owner": "ci", "ttl_seconds": -%d}' % 10 ** 400,
             {"code": invalid, "msg": "the json request has an integer of more than 20 digits"}),
            (b'{"owner": "ci", "ttl_seconds": %d}' % 2 ** 63, out_of_range),
            (b'{"owner": "ci", "ttl_seconds": 1e999}', out_of_range),
            (b'{"owner": "ci", "ttl_seconds": NaN}', out_of_range),
            (b'{"owner": "ci", "ttl_seconds": -Infinity}', out_of_range),
            (b'{"owner": "ci", "ttl_seconds": true}', {"code": invalid, "msg": "owner must be a string and ttl_seconds a number"}),
        ]
        for body, expected in cases:
            assert await post_json(cp.url, LOCK, body) == (400, expected), body[:60]
        # The LiveKit services decode JSON as Twirp does: what does not decode is `malformed`.
        malformed = (400, {"code": "malformed", "msg": "the json request could not be decoded"})
        for body in (b"[" * DEEP + b"]" * DEEP, b'{"page": {"limit": %d}}' % 10 ** 400):
            assert await post_json(cp.url, "/twirp/livekit.SIP/ListSIPInboundTrunk", body) == malformed
        # Still serving.
        assert (await post_json(cp.url, LOCK, b'{"owner": "ci", "ttl_seconds": 60}'))[0] == 200
        assert (await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items == []

    serve(scenario)


def test_requests_aiohttp_cannot_parse_get_400_and_one_warning_line(serve, caplog):
    async def scenario(cp, lk):
        long_line = b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        long_header = b"POST /twirp/livekit.SIP/ListSIPInboundTrunk HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n"
        bad_length = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
        not_http = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"
        for request in (long_line, long_header, bad_length, not_http):
            answer = await raw_http(cp.port, request)
            assert answer.startswith(b"HTTP/1.0 400 Bad Request\r\n") or answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:80]
        async with aiohttp.ClientSession() as http:
            async with http.get(cp.url + "/metrics") as resp:
                assert "\nsipconf_http_bad_requests_total 4\n" in await resp.text()
        assert (await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items == []

    with caplog.at_level(logging.DEBUG):
        serve(scenario)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    refused = [r.getMessage() for r in caplog.records if r.name == "sipconf.local.http"]
    assert len(refused) == 4 and all(r.levelno == logging.WARNING for r in caplog.records if r.name == "sipconf.local.http")
    assert refused[0].startswith("refused a malformed HTTP request from 127.0.0.1: 400 Got more than 8190 bytes")
    assert all("\n" not in line and len(line) < 300 for line in refused)
