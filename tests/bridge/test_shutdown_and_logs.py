"""Closing the bridge ends live calls (BYE after the answer, 503 before it), and the call
outcome log lines: one INFO line per call, one WARNING per second of overload, no secrets.
Real sockets on 127.0.0.1; call timers run on a ManualClock (nothing waits for them)."""

from __future__ import annotations

import asyncio
import logging
import socket

from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.sip import sdp
from sipconf.bridge.calls.inbound import State
from sipconf.agent import Agent, dtmf_packets
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.dialog import Dialog
from sipconf.sip.digest import answer_challenge
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

from .test_calls_inbound import KEY, SECRET, call, direct_rule, open_trunk, participants, ring

PASSWORD = "Zq-not-for-logs-7f3a"
PIN = "97531"


async def support_line(cp: ControlPlane) -> None:
    """An open trunk and a direct rule into room `support`, created through the control plane's API."""
    async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
        await open_trunk(lk)
        await direct_rule(lk)


async def answer_bye(peer: Agent, target) -> tuple:
    bye, _ = await peer.request("BYE", timeout=10)
    peer.send(peer.response(bye, 200), target)
    return bye


def test_closing_the_bridge_sends_bye_to_an_answered_caller(tmp_path):
    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp, Agent() as peer:
            await support_line(cp)
            bridge = Bridge(bridge_ports(cp), clock=ManualClock())
            async with bridge:
                target = bridge.udp_address
                invite, ok = await call(bridge, peer)
                assert ok.status == 200
                [inbound] = bridge.dialogs.values()
                waiter = asyncio.get_running_loop().create_task(answer_bye(peer, target))
            bye = await asyncio.wait_for(waiter, 10)
            assert bye.call_id == invite.call_id and bye.get("user-agent") == "LiveKit"
            assert bye.to.tag == ok.from_.tag  # in the caller's dialog
            assert inbound.state is State.ENDED and inbound.end_reason == "bridge shutting down"
            # The bridge waited for the BYE's 200 instead of cancelling the transaction.
            assert inbound.bye_task.done() and not inbound.bye_task.cancelled()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_closing_the_bridge_answers_an_unanswered_invite_503(tmp_path):
    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp, Agent() as peer:
            await support_line(cp)
            # A ring delay the ManualClock never reaches: the call stays unanswered.
            async with Bridge(bridge_ports(cp), clock=ManualClock(), ring_delay=60) as bridge:
                invite = await ring(bridge, peer)
                assert await participants_of(cp, "support") == ["sip_+15550111"]
            final = await peer.final_to(invite)
            assert (final.status, final.reason) == (503, "Service Unavailable")
            assert await participants_of(cp, "support") == []

    asyncio.run(asyncio.wait_for(main(), 30))


async def participants_of(cp, room):
    async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
        return [p.identity for p in await participants(lk, room)]


def test_auth_and_pin_call_logs_one_outcome_line_and_no_secrets(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, "sipconf")

    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp, Agent() as peer:
            async with Bridge(bridge_ports(cp), clock=ManualClock()) as bridge:
                async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                    trunk = await open_trunk(lk, auth_username="acme", auth_password=PASSWORD)
                    rule = await direct_rule(lk, room="vip", pin=PIN, name="vip-room")
                    target = bridge.udp_address
                    first = peer.invite(target, "+15550111", "+15550100", call_id="auth-pin", from_tag="ft")
                    peer.send(first, target)
                    challenge = await peer.final_to(first)
                    assert challenge.status == 407
                    credentials = answer_challenge(challenge.get("proxy-authenticate"), "INVITE", first.uri,
                                                   "acme", PASSWORD)
                    good = peer.invite(target, "+15550111", "+15550100", call_id="auth-pin", from_tag="ft", cseq=2,
                                       headers=[("Proxy-Authorization", credentials)])
                    peer.send(good, target)
                    ok = await peer.final_to(good)
                    assert ok.status == 200
                    peer.send(peer.ack_for(good, ok), target)
                    answer = sdp.SessionDescription.parse(ok.body)
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp:
                        for _, packet in dtmf_packets(PIN + "#"):
                            rtp.sendto(packet, (answer.address, answer.audio_port))
                    for _ in range(500):  # the digits arrive over loopback UDP
                        if await participants(lk, "vip"):
                            break
                        await asyncio.sleep(0.01)
                    assert [p.identity for p in await participants(lk, "vip")] == ["sip_+15550111"]
                    bye = Dialog.from_uac(good, ok).create_request("BYE", peer.via, [("Reason", "Q.850;cause=16")])
                    peer.send(bye, target)
                    assert (await peer.final_to(bye)).status == 200
        return trunk, rule, credentials

    trunk, rule, credentials = asyncio.run(asyncio.wait_for(main(), 30))
    text = caplog.text
    for secret in (PASSWORD, PIN, credentials, credentials.split("response=")[1][:34]):
        assert secret not in text
    outcomes = [r.getMessage() for r in caplog.records
                if r.levelno == logging.INFO and r.getMessage().startswith("inbound call ")]
    [challenged, answered] = outcomes
    assert challenged.endswith(f"Call-ID auth-pin: +15550111 -> +15550100 trunk {trunk.sip_trunk_id} (open) rule - room -: "
                               "407 Unauthorized, rejected, 0.0 s")
    assert answered.endswith(f"Call-ID auth-pin: +15550111 -> +15550100 trunk {trunk.sip_trunk_id} (open) "
                             f"rule {rule.sip_dispatch_rule_id} (vip-room) room vip: 200 OK, caller hung up, 0.0 s")


def test_overload_503s_log_one_warning_per_second_with_a_count(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "sipconf.bridge.server")

    async def main():
        clock = ManualClock()
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp, Agent() as peer:
            await support_line(cp)
            async with Bridge(bridge_ports(cp), clock=clock, ring_delay=60, max_calls=1) as bridge:
                target = bridge.udp_address
                held = await ring(bridge, peer)
                for round_ in range(2):
                    invites = [peer.invite(target, "+15550112", "+15550100") for _ in range(3)]
                    for invite in invites:
                        peer.send(invite, target)
                    for invite in invites:
                        assert (await peer.final_to(invite)).status == 503
                    if round_ == 0:
                        clock.advance(1.0)

    asyncio.run(asyncio.wait_for(main(), 30))
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("overload: ")]
    # 1st 503 at once; the next 2 in the same second are counted into the line after a
    # second passed (with the 4th); the last 2 are reported when the bridge closes.
    assert [w.split(" since")[0] for w in warnings] == [
        "overload: 1 INVITE(s) answered 503 Service Unavailable",
        "overload: 3 INVITE(s) answered 503 Service Unavailable",
        "overload: 2 INVITE(s) answered 503 Service Unavailable",
    ]
    assert warnings[-1].endswith("(totals: max_calls 6; max calls 1)")


def test_closing_the_bridge_sends_bye_on_an_answered_outbound_call_and_logs_it(caplog):
    from livekit.protocol import sip as sip_pb

    from sipconf.conformance.memory_ports import MemoryControlPlane

    caplog.set_level(logging.INFO, "sipconf.bridge.calls.outbound")

    async def main():
        control_plane = MemoryControlPlane()
        async with Agent() as peer:
            async with Bridge(control_plane.ports, clock=ManualClock()) as bridge:
                control_plane.directory.put(sip_pb.SIPOutboundTrunkInfo(
                    sip_trunk_id="ST_shutdownout1", name="t", address=f"{peer.host}:{peer.port}",
                    numbers=["+15550003333"], auth_username="out", auth_password=PASSWORD))
                created = asyncio.ensure_future(control_plane.calls.create_sip_participant(
                    sip_pb.CreateSIPParticipantRequest(
                        sip_trunk_id="ST_shutdownout1", sip_call_to="+15550004444", room_name="out",
                        participant_identity="callee", wait_until_answered=True)))
                invite, addr = await peer.request("INVITE")
                peer.send(peer.response(invite, 200, tag="peer", headers=[("Contact", peer.contact)],
                                      body=peer.offer()), addr)
                await created
                [call] = bridge.outbound.by_call_id.values()
                waiter = asyncio.get_running_loop().create_task(answer_bye(peer, addr))
            bye = await asyncio.wait_for(waiter, 10)
            assert bye.call_id == invite.call_id
            assert call.bye_task.done() and not call.bye_task.cancelled()
            assert control_plane.participants.live == {}

    asyncio.run(asyncio.wait_for(main(), 30))
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("outbound call ")]
    assert " trunk ST_shutdownout1 (t) -> sip:+15550004444@127.0.0.1:" in line
    assert line.endswith(": 200 OK, bridge shutting down, 0.0 s")
    assert PASSWORD not in caplog.text
