"""The bridge against the real `sipp` binary on 127.0.0.1 (ports allocated, never -aa),
checked through the `livekit-api` client."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api
from livekit.protocol import room as room_pb, sip as sip_pb

from sipconf.agent import Agent, decode_digits
from tests.bridge.sipp_helpers import SIPP, UAS_FINAL_HEADERS, free_port, inbound_setup, run_with_bridge

BUSY_UAS = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="busy">
  <recv request="INVITE" />
  <send><![CDATA[
SIP/2.0 486 Busy Here
{UAS_FINAL_HEADERS}
Content-Length: 0

]]></send>
  <recv request="ACK" />
</scenario>
"""



async def sipp(*args: str) -> asyncio.subprocess.Process:
    ports = ["-p", str(free_port()), "-cp", str(free_port()), "-mp", str(free_port())]
    return await asyncio.create_subprocess_exec(
        SIPP, *args, "-i", "127.0.0.1", *ports, "-m", "1", "-nostdin", "-timeout", "10s",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def outbound_trunk(lk, port: int, **fields):
    trunk = sip_pb.SIPOutboundTrunkInfo(name="out", address=f"127.0.0.1:{port}", numbers=["+15550200"], **fields)
    return await lk.sip.create_outbound_trunk(sip_pb.CreateSIPOutboundTrunkRequest(trunk=trunk))


def test_sipp_uac_call_is_routed_and_answered(tmp_path):
    async def scenario(bridge, lk):
        await inbound_setup(lk, "sipp")
        host, port = bridge.udp_address
        proc = await sipp("-sn", "uac", "-s", "+15550100", "-d", "2000", f"{host}:{port}")
        for _ in range(300):
            found = (await lk.room.list_participants(room_pb.ListParticipantsRequest(room="sipp"))).participants
            if found:
                break
            await asyncio.sleep(0.02)
        assert found and found[0].attributes["sip.callStatus"] == "active"
        assert await proc.wait() == 0  # SIPp saw 200, sent ACK, BYE got 200
        assert list((await lk.room.list_participants(room_pb.ListParticipantsRequest(room="sipp"))).participants) == []

    run_with_bridge(tmp_path, scenario)


def test_outbound_to_sipp_uas_answered(tmp_path):
    async def scenario(bridge, lk):
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            SIPP, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-cp", str(free_port()), "-mp", str(free_port()),
            "-m", "1", "-nostdin", "-timeout", "10s",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.3)
        trunk = await outbound_trunk(lk, port)
        info = await lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
            sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550300", room_name="out", wait_until_answered=True))
        assert info.participant_identity == "sip_+15550300" and info.sip_call_id.startswith("SCL_")
        [p] = (await lk.room.list_participants(room_pb.ListParticipantsRequest(room="out"))).participants
        assert p.attributes["sip.callStatus"] == "active" and p.attributes["sip.phoneNumber"] == "+15550300"
        await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="out", identity=p.identity))
        assert await proc.wait() == 0  # SIPp's uas expects our BYE

    run_with_bridge(tmp_path, scenario)


def test_outbound_busy_raises_sip_call_error_486(tmp_path):
    async def scenario(bridge, lk):
        xml = tmp_path / "busy.xml"
        xml.write_text(BUSY_UAS)
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            SIPP, "-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-cp", str(free_port()),
            "-mp", str(free_port()), "-m", "1", "-nostdin", "-timeout", "10s",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.3)
        trunk = await outbound_trunk(lk, port)
        with pytest.raises(api.SipCallError) as info:
            await lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
                sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550300", room_name="out", wait_until_answered=True))
        assert info.value.sip_status_code == 486
        assert info.value.sip_status == "Busy Here"
        assert await proc.wait() == 0

    run_with_bridge(tmp_path, scenario)


def test_outbound_dtmf_is_decoded_from_far_end_rtp(tmp_path):
    async def scenario(bridge, lk):
        async with Agent() as peer:
            trunk = await outbound_trunk(lk, peer.port)
            created = asyncio.ensure_future(lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
                sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550300", room_name="out", dtmf="12w#",
                wait_until_answered=True)))
            invite, addr = await peer.request("INVITE")
            peer.send(peer.response(invite, 200, tag="far", headers=[("Contact", peer.contact)], body=peer.offer()), addr)
            await created
            assert decode_digits(peer.rtp_packets) == "12#"

    run_with_bridge(tmp_path, scenario)
