"""Hold and resume: re-INVITEs in answered calls over real 127.0.0.1 sockets, answered as
RFC 3264 6.1 says (`sendonly` -> `recvonly`, `recvonly` -> `sendonly`, `inactive` ->
`inactive`) with the origin's version one higher when the answer changed (RFC 3264 8), and the
bridge's RTP and media timeout following the direction. The scripted agent's tests run the bridge on
a ManualClock, so RTP ticks and timeouts happen only when a test moves it; the last test is the
real SIPp binary holding and resuming a call."""

from __future__ import annotations

import asyncio

from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane
from sipconf.sip.message import Response
from sipconf.sip.sdp import SessionDescription

from tests.bridge.sipp_helpers import (
    SDP_PCMU, UAC_FROM, ack_after_answer, inbound_setup, invite_with_offer, run_with_bridge, sipp, traces,
)
from tests.bridge.test_calls_inbound import KEY, SECRET, direct_rule, open_trunk, participants

TICK = 0.020


def run(tmp_path, scenario) -> None:
    """`scenario(bridge, lk, peer, clock)` against a control plane and a bridge on a ManualClock."""

    async def main():
        clock = ManualClock()
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp), clock=clock) as bridge:
                async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk, Agent() as peer:
                    await asyncio.wait_for(scenario(bridge, lk, peer, clock), 20)

    asyncio.run(main())


def offer(peer: Agent, direction: str | None) -> bytes:
    """The agent's offer (PCMU, PCMA, telephone-event) with `direction` (None: no attribute)."""
    body = peer.media.offer().replace(b"a=sendrecv\r\n", b"")
    return body + (f"a={direction}\r\n".encode() if direction else b"")


async def reinvite(leg, body: bytes) -> Response:
    """A re-INVITE in `leg`'s dialog offering `body` (none when empty); ACKs a 2xx."""
    final = await leg.send_request("INVITE", body=body, content_type="application/sdp" if body else None)
    assert final is not None
    if final.status < 300:
        leg.agent.send(leg.dialog.request("ACK", leg.agent.via, cseq=leg.dialog.cseq), leg.peer)
    return final


def answered(final: Response) -> tuple[int, str, str]:
    """(status, the answer's direction, the origin's session version)."""
    description = SessionDescription.parse(final.body)
    return final.status, description.direction, description.origin.split()[2]


def sent_while(clock: ManualClock, rtp, frames: int) -> int:
    """How many RTP packets the bridge sent while `frames` ticks passed."""
    before = rtp.packets_sent
    clock.advance(TICK * frames)
    return rtp.packets_sent - before


async def inbound_call(bridge, lk, peer):
    """An answered inbound call from the agent; (its leg, the bridge's call)."""
    await open_trunk(lk)
    await direct_rule(lk, room="hold")
    leg = await peer.call(bridge.udp_address, "+15550111", "+15550100")
    assert leg.final is not None and leg.final.status == 200
    return leg, bridge.dialogs[(leg.call_id, leg.final.to.tag)]


def test_hold_inactive_recvonly_and_resume_are_answered_as_rfc_3264_says(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        leg, call = await inbound_call(bridge, lk, peer)
        assert answered(leg.final) == (200, "sendrecv", "0")
        assert sent_while(clock, call.rtp, 5) == 5
        # Hold: the phone keeps sending (music on hold), the bridge only listens.
        assert answered(await reinvite(leg, offer(peer, "sendonly"))) == (200, "recvonly", "1")
        assert sent_while(clock, call.rtp, 5) == 0
        assert answered(await reinvite(leg, offer(peer, "inactive"))) == (200, "inactive", "2")
        assert sent_while(clock, call.rtp, 5) == 0
        assert answered(await reinvite(leg, offer(peer, "recvonly"))) == (200, "sendonly", "3")
        assert sent_while(clock, call.rtp, 5) == 5
        # Resume with no direction attribute at all: sendrecv (RFC 3264 5.1).
        assert answered(await reinvite(leg, offer(peer, None))) == (200, "sendrecv", "4")
        assert sent_while(clock, call.rtp, 5) == 5
        [p] = await participants(lk, "hold")  # the participant stayed through it all
        assert p.attributes["sip.callStatus"] == "active"

    run(tmp_path, scenario)


def test_an_rfc_2543_hold_with_address_0000_gets_no_rtp(tmp_path):
    """RFC 3264 8.4: a connection address of 0.0.0.0 means send neither RTP nor RTCP."""

    async def scenario(bridge, lk, peer, clock):
        leg, call = await inbound_call(bridge, lk, peer)
        held = offer(peer, None).replace(f"c=IN IP4 {peer.host}".encode(), b"c=IN IP4 0.0.0.0")
        assert answered(await reinvite(leg, held)) == (200, "sendrecv", "0")  # our side is unchanged
        assert sent_while(clock, call.rtp, 5) == 0
        assert answered(await reinvite(leg, offer(peer, "sendrecv"))) == (200, "sendrecv", "0")
        assert sent_while(clock, call.rtp, 5) == 5

    run(tmp_path, scenario)


def test_an_unchanged_offer_keeps_the_version_and_no_offer_gets_the_current_description(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        leg, call = await inbound_call(bridge, lk, peer)
        held = await reinvite(leg, offer(peer, "sendonly"))
        assert answered(held) == (200, "recvonly", "1")
        again = await reinvite(leg, offer(peer, "sendonly"))
        assert answered(again) == (200, "recvonly", "1") and again.body == held.body
        # Without SDP the 200 carries the description in force (the peer answers in its ACK).
        bare = await reinvite(leg, b"")
        assert bare.body == held.body
        assert sent_while(clock, call.rtp, 5) == 0

    run(tmp_path, scenario)


def test_an_offer_it_cannot_accept_gets_488_and_the_session_stays(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        leg, call = await inbound_call(bridge, lk, peer)
        g729_only = offer(peer, "sendonly").replace(b"RTP/AVP 0 8 101", b"RTP/AVP 18")
        refused = await reinvite(leg, g729_only)
        assert (refused.status, refused.reason) == (488, "Not Acceptable Here")
        assert (await reinvite(leg, b"v=0\r\nbogus\r\n")).status == 488
        assert sent_while(clock, call.rtp, 5) == 5  # still sendrecv, still PCMU
        assert answered(await reinvite(leg, b"")) == (200, "sendrecv", "0")

    run(tmp_path, scenario)


def test_a_re_invite_with_a_lower_cseq_gets_500(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        leg, _ = await inbound_call(bridge, lk, peer)
        await reinvite(leg, offer(peer, "sendonly"))
        stale = leg.dialog.request("INVITE", peer.via, body=offer(peer, "sendrecv"), content_type="application/sdp",
                                   cseq=1)
        peer.send(stale, leg.peer)
        final = await peer.final_to(stale)
        assert (final.status, final.reason) == (500, "Server Internal Error")

    run(tmp_path, scenario)


def test_a_held_call_that_sends_nothing_is_not_timed_out_until_it_resumes(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        leg, call = await inbound_call(bridge, lk, peer)
        assert answered(await reinvite(leg, offer(peer, "inactive"))) == (200, "inactive", "1")
        clock.advance(120.0)  # 4x the 30 s initial media timeout, on hold
        await asyncio.sleep(0.05)
        assert len(await participants(lk, "hold")) == 1
        assert answered(await reinvite(leg, offer(peer, "sendrecv"))) == (200, "sendrecv", "2")
        clock.advance(14.5)  # resumed: 15 s without RTP from here ends the call
        await asyncio.sleep(0.05)
        assert len(await participants(lk, "hold")) == 1
        mark = len(peer.messages)
        clock.advance(0.5)
        bye, _ = await peer.request("BYE", start=mark)
        assert bye.method == "BYE"
        assert await participants(lk, "hold") == []

    run(tmp_path, scenario)


def test_the_callee_of_an_outbound_call_can_hold_it(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        callee = peer.answer()
        trunk = sip_pb.SIPOutboundTrunkInfo(name="agent", address=f"{peer.host}:{peer.port}", numbers=["+15550200"])
        trunk = await lk.sip.create_outbound_trunk(sip_pb.CreateSIPOutboundTrunkRequest(trunk=trunk))
        await lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
            sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550300", room_name="out-hold", wait_until_answered=True))
        [leg] = callee.legs.values()
        call = next(iter(bridge.outbound.by_call_id.values()))
        assert sent_while(clock, call.rtp, 5) == 5
        assert answered(await reinvite(leg, offer(peer, "sendonly"))) == (200, "recvonly", "1")
        assert sent_while(clock, call.rtp, 5) == 0
        assert answered(await reinvite(leg, offer(peer, "sendrecv"))) == (200, "sendrecv", "2")
        assert sent_while(clock, call.rtp, 5) == 5

    run(tmp_path, scenario)


def sipp_reinvite(cseq: int, direction: str, answered: str) -> str:
    """SIPp's re-INVITE offering `direction`; its 200 must answer `answered` (SIPp fails the
    call when the regular expression does not match), then the ACK."""
    sdp = SDP_PCMU.replace("a=rtpmap:0 PCMU/8000", f"a=rtpmap:0 PCMU/8000\na={direction}")
    return f"""
  <send retrans="500"><![CDATA[
INVITE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{UAC_FROM}
To: <sip:+15550100@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{sdp}

]]></send>
  <recv response="200">
    <action><ereg regexp="a={answered}" search_in="body" check_it="true" assign_to="answer" /></action>
  </recv>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{UAC_FROM}
To: <sip:+15550100@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
"""


def test_sipp_holds_and_resumes_a_call(tmp_path):
    to = "To: <sip:+15550100@[remote_ip]:[remote_port]>"
    scenario_xml = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hold and resume">{invite_with_offer("sip:+15550100@[remote_ip]:[remote_port]", to,
                                                    "<sip:sipp@[local_ip]:[local_port]>")}{ack_after_answer(to)}
{sipp_reinvite(2, "sendonly", "recvonly")}
{sipp_reinvite(3, "inactive", "inactive")}
{sipp_reinvite(4, "recvonly", "sendonly")}
{sipp_reinvite(5, "sendrecv", "sendrecv")}
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{UAC_FROM}
{to}[peer_tag_param]
Call-ID: [call_id]
CSeq: 6 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" />
</scenario>
"""

    async def scenario(bridge, lk):
        await inbound_setup(lk, "sipp-hold")
        proc = await sipp(tmp_path, scenario_xml, "-s", "+15550100", f"127.0.0.1:{bridge.udp_address[1]}")
        rc = await proc.wait()
        log = traces(tmp_path)
        assert rc == 0, log
        assert log.count("a=recvonly") == 2 and log.count("a=inactive") == 2, log  # offered once, answered once

    run_with_bridge(tmp_path, scenario)
