"""`sipconf up`'s health and metrics on its HTTP port: readiness fails with the reason once a
listener stopped; `/metrics` counts real calls placed over UDP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re

import aiohttp
from livekit import api
from livekit.protocol import sip

from sipconf.bridge.metrics import Family, render
from sipconf.commands.up import UpOptions, start_services
from sipconf.sip.digest import answer_challenge
from tests.local.sip_caller import Caller, new_call_id, tag_of
from tests.local.up_process import start_up


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            return resp.status, await resp.text()


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value for every sample line of a scrape."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_readiness_fails_with_the_reason_once_a_listener_stopped(tmp_path):
    async def main():
        services = await start_services(UpOptions(http=("127.0.0.1", 0), sip=("127.0.0.1", 0),
                                                  state=tmp_path / "s.db", mode="explicit", max_lag=0))
        url, sip_server = services.control_plane.url, services.bridge.sip
        try:
            assert await get(url + "/readyz") == (200, "ok\nhttp: serving\nudp: serving\ntcp: serving\n")
            # asyncio closes a datagram endpoint this way when its socket fails fatally.
            sip_server._udp_transport.abort()
            stopped = "not ready: udp listener stopped\nhttp: serving\nudp: stopped\ntcp: serving\n"
            assert await get(url + "/readyz") == (503, stopped)
            assert await get(url + "/healthz") == (503, stopped)
            assert 'sipconf_listener_up{listener="udp"} 0' in (await get(url + "/metrics"))[1]
            sip_server._tcp_server.close()
            status, text = await get(url + "/readyz")
            assert (status, text.splitlines()[0]) == (503, "not ready: udp, tcp listeners stopped")
        finally:
            await services.stop()

    asyncio.run(main())


def test_metrics_count_real_calls(tmp_path):
    up = start_up(tmp_path / "s.db", "--max-calls", "1", "--max-lag-ms", "0")
    try:
        async def setup():
            async with api.LiveKitAPI(*up.credentials) as lk:
                await lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(
                    name="office", numbers=["+15550100"], auth_username="office", auth_password="the-password")))
                await lk.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(rule=sip.SIPDispatchRule(
                    dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="support"))))

        asyncio.run(setup())
        scrape = lambda: samples(asyncio.run(get(up.url + "/metrics"))[1])  # noqa: E731
        with Caller(up.sip_target) as caller:
            call_id, tag = new_call_id()
            caller.request("INVITE", "+15550199", call_id, tag, 1, sdp=True)  # no trunk for that number
            assert caller.final(call_id, "INVITE").status == 404

            call_id, tag = new_call_id()
            caller.request("INVITE", "+15550100", call_id, tag, 1, sdp=True)
            challenge = caller.final(call_id, "INVITE")
            assert challenge.status == 407
            uri = f"sip:+15550100@{up.sip_target[0]}:{up.sip_target[1]}"
            wrong = answer_challenge(challenge.headers["proxy-authenticate"], "INVITE", uri, "office", "wrong")
            caller.request("INVITE", "+15550100", call_id, tag, 2, sdp=True, headers=(("Proxy-Authorization", wrong),))
            assert caller.final(call_id, "INVITE").status == 401

            # The wrong answer used the nonce up: the caller asks again and answers the new one.
            caller.request("INVITE", "+15550100", call_id, tag, 3, sdp=True)
            challenge = caller.final(call_id, "INVITE")
            assert challenge.status == 407
            right = answer_challenge(challenge.headers["proxy-authenticate"], "INVITE", uri, "office", "the-password")
            caller.request("INVITE", "+15550100", call_id, tag, 4, sdp=True, headers=(("Proxy-Authorization", right),))
            answered = caller.final(call_id, "INVITE")
            assert answered.status == 200
            to_tag = tag_of(answered.headers["to"])
            caller.request("ACK", "+15550100", call_id, tag, 4, to_tag=to_tag)

            with Caller(up.sip_target) as second:  # one call in progress is the limit
                other, other_tag = new_call_id()
                second.request("INVITE", "+15550100", other, other_tag, 1, sdp=True)
                shed = second.final(other, "INVITE")
                assert (shed.status, shed.headers.get("retry-after")) == (503, "1")

            caller.send_raw(b"this is not SIP\r\n\r\n")  # dropped: nothing to answer
            caller.send_raw(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbad\r\n"
                            b"CSeq: 1 OPTIONS\r\nContent-Length: 9999\r\n\r\n" % caller.port)
            assert caller.receive().status == 400

            during = scrape()
            caller.request("BYE", "+15550100", call_id, tag, 4, to_tag=to_tag)
            assert caller.final(call_id, "BYE").status == 200

        with Caller(up.sip_target) as callee:  # an outbound call the far end refuses
            async def outbound():
                async with api.LiveKitAPI(*up.credentials) as lk:
                    trunk = await lk.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(trunk=sip.SIPOutboundTrunkInfo(
                        name="out", address=f"127.0.0.1:{callee.port}", numbers=["+15550100"])))
                    call = asyncio.ensure_future(lk.sip.create_sip_participant(sip.CreateSIPParticipantRequest(
                        sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550177", room_name="out",
                        participant_identity="callee", wait_until_answered=True)))
                    invite = await asyncio.to_thread(callee.receive_request)
                    callee.answer(invite, 486, "Busy Here")
                    try:
                        await call
                    except api.TwirpError as err:
                        return err.metadata.get("sip_status_code")

            assert asyncio.run(outbound()) == "486"
        after = scrape()
    finally:
        up.stop()
        up.kill()

    assert during["sipconf_sip_calls_in_progress"] == 1
    assert (during["sipconf_rooms"], during["sipconf_participants"]) == (1, 1)
    calls = {key: value for key, value in after.items() if key.startswith("sipconf_sip_calls_total")}
    assert calls == {
        'sipconf_sip_calls_total{direction="inbound",status="200"}': 1,
        'sipconf_sip_calls_total{direction="inbound",status="401"}': 1,
        'sipconf_sip_calls_total{direction="inbound",status="404"}': 1,
        'sipconf_sip_calls_total{direction="inbound",status="407"}': 2,
        'sipconf_sip_calls_total{direction="inbound",status="503"}': 1,
        'sipconf_sip_calls_total{direction="outbound",status="486"}': 1,
    }
    assert after["sipconf_sip_calls_in_progress"] == 0
    assert after['sipconf_sip_calls_shed_total{reason="max_calls"}'] == 1
    assert after["sipconf_sip_auth_challenges_total"] == 2
    assert after['sipconf_sip_auth_backoffs_total{event="started"}'] == 0  # one failure is far from a back-off
    assert after["sipconf_sip_auth_backoffs_active"] == 0
    assert after['sipconf_sip_auth_failures_total{direction="inbound"}'] == 1
    assert after['sipconf_sip_malformed_messages_total{action="dropped"}'] == 1
    assert after['sipconf_sip_malformed_messages_total{action="answered_400"}'] == 1
    # Both calls ended; their rooms wait out the departure timeout (20 s) before they close.
    assert (after["sipconf_rooms"], after["sipconf_participants"]) == (2, 0)
    assert {after[f'sipconf_listener_up{{listener="{name}"}}'] for name in ("http", "udp", "tcp")} == {1}


def test_the_text_format_escapes_labels_and_help():
    text = render([
        Family("demo_total", "counter", 'Help with a \\ and a\nnewline.',
               (({"path": 'a"b\\c\nd'}, 3), ({"path": "x"}, 0.5))),
        Family.single("demo_up", "gauge", "One sample, no labels.", 1),
        Family.labelled("demo_empty_total", "counter", "No samples yet.", "reason", {}),
    ])
    assert text == (
        "# HELP demo_total Help with a \\\\ and a\\nnewline.\n"
        "# TYPE demo_total counter\n"
        'demo_total{path="a\\"b\\\\c\\nd"} 3\n'
        'demo_total{path="x"} 0.5\n'
        "# HELP demo_up One sample, no labels.\n"
        "# TYPE demo_up gauge\n"
        "demo_up 1\n"
        "# HELP demo_empty_total No samples yet.\n"
        "# TYPE demo_empty_total counter\n"
    )
    assert all(re.fullmatch(r"(# (HELP|TYPE) .*|[a-z_]+(\{.*\})? \S+)", line) for line in text.splitlines())
