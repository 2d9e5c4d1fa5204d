"""Inbound calls through the real bridge on 127.0.0.1, a spec applied with the real
`livekit-api` client, results read back through RoomService. Timers run on a ManualClock."""

from __future__ import annotations

import asyncio
import random
import socket

from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.sip import sdp
from sipconf.agent import Agent, dtmf_packets
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

from tests.bridge.hostile_helpers import udp_client, udp_probe_answered

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"


def run(scenario, **bridge_kwargs):
    async def main(tmp):
        async with ControlPlane(state_path=tmp, api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp), clock=ManualClock(), **bridge_kwargs) as bridge:
                async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk, Agent() as peer:
                    await asyncio.wait_for(scenario(bridge, lk, peer), 15)

    return main


async def open_trunk(lk, **fields):
    trunk = sip_pb.SIPInboundTrunkInfo(name="open", numbers=["+15550100"], **fields)
    return await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(trunk=trunk))


async def direct_rule(lk, room="support", pin="", **fields):
    rule = sip_pb.SIPDispatchRule(dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name=room, pin=pin))
    return await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(rule=rule, **fields))


async def participants(lk, room):
    from livekit.protocol import room as room_pb

    return list((await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room))).participants)


async def call(bridge, peer, headers=None, from_user="+15550111"):
    target = bridge.udp_address
    invite = peer.invite(target, from_user, "+15550100", headers=headers)
    peer.send(invite, target)
    final = await peer.final_to(invite)
    if final.status < 300:
        peer.send(peer.ack_for(invite, final), target)
    return invite, final


async def ring(bridge, peer, from_user="+15550111"):
    """An INVITE sent to the bridge, once its 180 Ringing has come back."""
    target = bridge.udp_address
    invite = peer.invite(target, from_user, "+15550100")
    peer.send(invite, target)
    await peer.wait_for(lambda m: getattr(m, "status", 0) == 180)
    return invite


def test_open_call_joins_room_with_attributes_then_caller_bye_removes_it(tmp_path):
    async def scenario(bridge, lk, peer):
        trunk = await open_trunk(lk, headers_to_attributes={"X-Customer-Tier": "customer.tier"})
        rule = await direct_rule(lk, attributes={"team": "support"})
        invite, ok = await call(bridge, peer, headers=[("X-Customer-Tier", "gold")])
        assert (ok.status, ok.reason) == (200, "OK")
        assert [r.status for r in peer.responses_to(invite)] == [100, 180, 200]
        assert sdp.SessionDescription.parse(ok.body).payload_types[-1] == 101
        [p] = await participants(lk, "support")
        assert p.identity == "sip_+15550111" and p.name == "Phone +15550111"
        assert p.kind == p.Kind.SIP
        attrs = dict(p.attributes)
        assert attrs["customer.tier"] == "gold" and attrs["team"] == "support"
        assert attrs["sip.callStatus"] == "active" and attrs["sip.trunkID"] == trunk.sip_trunk_id
        assert attrs["sip.ruleID"] == rule.sip_dispatch_rule_id and attrs["sip.phoneNumber"] == "+15550111"
        bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via, [("Reason", "Q.850;cause=16")])
        peer.send(bye, bridge.udp_address)
        assert (await peer.final_to(bye)).status == 200
        assert await participants(lk, "support") == []

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_ip_allowlist_and_no_match_are_rejected_in_explicit_mode(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk, allowed_addresses=["10.9.9.9/32"])
        await direct_rule(lk)
        _, final = await call(bridge, peer)
        assert (final.status, final.reason) == (404, "No trunk found")
        _, final = await call(bridge, peer, from_user="+15550999")
        assert (final.status, final.reason) == (404, "No trunk found")
        assert await participants(lk, "support") == []

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_trunk_without_rule_gets_404_no_match(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        _, final = await call(bridge, peer)
        assert (final.status, final.reason) == (404, "Does not match Trunks or Dispatch Rules")

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_digest_auth_challenge_then_answer(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk, auth_username="acme", auth_password="s3cret")
        await direct_rule(lk)
        target = bridge.udp_address
        first = peer.invite(target, "+15550111", "+15550100", call_id="auth-1", from_tag="ft")
        peer.send(first, target)
        challenge = await peer.final_to(first)
        assert (challenge.status, challenge.reason) == (407, "Unauthorized")
        from sipconf.sip.digest import answer_challenge

        def answer(challenge, password, cseq):
            """The INVITE again, in the same call, answering `challenge` with `password`."""
            value = answer_challenge(challenge.get("proxy-authenticate"), "INVITE", first.uri, "acme", password)
            retry = peer.invite(target, "+15550111", "+15550100", call_id="auth-1", from_tag="ft", cseq=cseq,
                                headers=[("Proxy-Authorization", value)])
            peer.send(retry, target)
            return retry

        retry = answer(challenge, "wrong", 2)
        assert ((await peer.final_to(retry)).status, (await peer.final_to(retry)).reason) == (401, "Unauthorized")
        good = answer(challenge, "s3cret", 3)
        # The wrong answer spent the nonce (one guess per nonce, a deliberate deviation): the
        # right answer to it is challenged afresh, and the answer to the new challenge is let in.
        again = await peer.final_to(good)
        assert (again.status, again.reason) == (407, "Unauthorized")
        good = answer(again, "s3cret", 4)
        assert (await peer.final_to(good)).status == 200
        assert [p.identity for p in await participants(lk, "support")] == ["sip_+15550111"]

    asyncio.run(run(scenario)(tmp_path / "s.db"))


async def _pin_call(bridge, lk, peer, digits):
    await open_trunk(lk)
    await direct_rule(lk, room="vip", pin="4321")
    invite, ok = await call(bridge, peer)
    assert ok.status == 200  # PIN rooms answer at once
    assert await participants(lk, "vip") == []
    answer = sdp.SessionDescription.parse(ok.body)
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, packet in dtmf_packets(digits):
            rtp.sendto(packet, (answer.address, answer.audio_port))
    finally:
        rtp.close()
    return invite, ok


def test_pin_room_right_pin_joins(tmp_path):
    async def scenario(bridge, lk, peer):
        await _pin_call(bridge, lk, peer, "4321#")
        for _ in range(200):
            if await participants(lk, "vip"):
                break
            await asyncio.sleep(0.01)
        [p] = await participants(lk, "vip")
        assert p.attributes["sip.callStatus"] == "active"

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_pin_room_wrong_pin_hangs_up(tmp_path):
    async def scenario(bridge, lk, peer):
        await _pin_call(bridge, lk, peer, "1111#")
        bye, addr = await peer.request("BYE")
        peer.send(peer.response(bye, 200), addr)
        assert await participants(lk, "vip") == []

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_sip_info_gets_405_without_dtmf_info(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        invite, ok = await call(bridge, peer)
        info = Dialog.from_uac(invite, ok).create_request("INFO", peer.via, body=b"Signal=5\r\n",
                                                          content_type="application/dtmf-relay")
        peer.send(info, bridge.udp_address)
        assert ((await peer.final_to(info)).status) == 405

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_cancel_before_answer_gets_487(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        invite = await ring(bridge, peer)
        from sipconf.bridge.transaction import build_cancel

        cancel = build_cancel(invite)
        peer.send(cancel, target)
        assert (await peer.final_to(cancel)).status == 200
        final = await peer.final_to(invite)
        assert (final.status, final.reason) == (487, "Request Terminated")
        assert await participants(lk, "support") == []

    asyncio.run(run(scenario, ring_delay=30)(tmp_path / "s.db"))


def test_remove_participant_sends_bye(tmp_path):
    async def scenario(bridge, lk, peer):
        from livekit.protocol import room as room_pb

        await open_trunk(lk)
        await direct_rule(lk)
        await call(bridge, peer)
        await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="support", identity="sip_+15550111"))
        bye, addr = await peer.request("BYE")
        assert bye.get("user-agent") == "LiveKit"
        peer.send(peer.response(bye, 200), addr)

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_other_requests_get_livekit_answers(tmp_path):
    async def scenario(bridge, lk, peer):
        target = bridge.udp_address
        for method, status in (("OPTIONS", 200), ("MESSAGE", 405), ("REFER", 405)):
            req = peer.invite(target, "a", "b")
            req.method = method
            req.uri = f"sip:b@{target[0]}:{target[1]}"
            req.set("CSeq", f"1 {method}")
            peer.send(req, target)
            assert (await peer.final_to(req)).status == status
        bye = peer.invite(target, "a", "b")
        bye.method = "BYE"
        bye.set("CSeq", "1 BYE")
        bye.set("To", f"<sip:b@{target[0]}>;tag=nope")
        peer.send(bye, target)
        final = await peer.final_to(bye)
        assert (final.status, final.reason) == (481, "Call does not exist")

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_garbage_and_truncated_streams_then_a_valid_call(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        good = bytes(peer.invite(target, "+15550111", "+15550100"))
        rng = random.Random(7)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(2000):
            data = bytearray(good)
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if i % 3 == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
            elif i % 3 == 1:
                data = bytes(data[: rng.randrange(len(data))])
            sock.sendto(bytes(data), target)
            if i % 200 == 0:
                await asyncio.sleep(0)
        sock.close()
        for cut in (10, 100, len(good) - 5):
            reader, writer = await asyncio.open_connection(*bridge.tcp_address)
            writer.write(good[:cut])
            await writer.drain()
            writer.close()
        # Once an OPTIONS sent after the flood is answered, the flood has been read: a call
        # behind it in the socket's queue could have waited past max_queue_age and got 503.
        sender, replies, local = await udp_client()
        await udp_probe_answered(sender, replies, local, target)
        sender.close()
        for call_ in [*bridge.pending.values(), *bridge.dialogs.values()]:
            call_.hangup("test cleanup")
        _, final = await call(bridge, peer)
        assert final.status == 200

    asyncio.run(run(scenario)(tmp_path / "s.db"))
