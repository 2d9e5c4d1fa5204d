"""The bridge behind a real record-routing proxy (kamailio, RFC 3261 16.12), with SIPp at the far end:
the bridge's 18x/2xx carry the proxy's Record-Route, and every in-dialog request either side sends
(ACK, BYE, REFER, NOTIFY) goes through the proxy, which refuses in-dialog requests without its Route."""

from __future__ import annotations

import asyncio
import re

import pytest
from livekit.protocol import room as room_pb, sip as sip_pb

from tests.bridge.kamailio_proxy import running_kamailio
from tests.bridge.sipp_helpers import (
    SDP_PCMU, UAC_FROM, ack_after_answer, answer_request, free_port, inbound_setup, invite_with_offer, run_with_bridge,
    sipp, traces, wait_participant,
)


@pytest.fixture
def proxy(tmp_path):
    with running_kamailio(tmp_path) as running:
        yield running


def uac_scenario(bridge_port: int, transport: str, then: str) -> str:
    """INVITE to the bridge's address sent to the proxy; the 200's Record-Route is kept (rrs)
    and the ACK follows it; then `then`."""
    suffix = ";transport=tcp" if transport == "tcp" else ""
    frm = UAC_FROM
    to = f"To: <sip:+15550100@127.0.0.1:{bridge_port}>"
    invite = invite_with_offer(
        f"sip:+15550100@127.0.0.1:{bridge_port}{suffix}", to, f"<sip:sipp@[local_ip]:[local_port]{suffix}>")
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="through the proxy">{invite}{ack_after_answer(to, routes=True)}
{then.replace("{FROM}", frm).replace("{TO}", to + "[peer_tag_param]")}
</scenario>
"""


def in_dialog(method: str, cseq: int, extra: str = "", body: str = "") -> str:
    """A request SIPp sends in the dialog: to the bridge's Contact, through the route set."""
    return f"""
  <send retrans="500"><![CDATA[
{method} [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
{{FROM}}
{{TO}}
Call-ID: [call_id]
CSeq: {cseq} {method}
Max-Forwards: 70
{extra}Content-Length: [len]

{body}]]></send>
  <recv response="200" />
"""


BRIDGE_BYE = '  <recv request="BYE" />\n' + answer_request("200 OK", record_route=True)


def messages(log: str, direction: str, start: str) -> list[str]:
    """The messages SIPp logged (-trace_msg) as `direction` ("sent"/"received") whose first
    line starts with `start`."""
    blocks = re.split(r"\n(?=-+ \S)", log)
    return [b for b in blocks if f"message {direction}" in b and re.search(rf"^{re.escape(start)}", b, re.M)]


def received(log: str, method: str) -> list[str]:
    return messages(log, "received", f"{method} sip:")


def via_proxy(message: str, proxy_port: int) -> bool:
    """Did the proxy forward it (its Via on top of the sender's)?"""
    return re.search(rf"^Via: SIP/2\.0/(UDP|TCP) 127\.0\.0\.1:{proxy_port};branch=", message, re.M | re.I) is not None


async def inbound_via_proxy(tmp_path, bridge, lk, proxy, transport: str, then: str, room: str):
    await inbound_setup(lk, room)
    bridge_port = (bridge.tcp_address if transport == "tcp" else bridge.udp_address)[1]
    args = ["-s", "+15550100", proxy.address] + (["-t", "t1"] if transport == "tcp" else [])
    proc = await sipp(tmp_path, uac_scenario(bridge_port, transport, then), *args)
    return proc, await wait_participant(lk, room)


async def gone(lk, room: str, patience: float = 20.0) -> bool:
    """Has the room's participant left? `patience` seconds only bound a loaded machine's wait."""
    deadline = asyncio.get_running_loop().time() + patience
    while asyncio.get_running_loop().time() < deadline:
        if not list((await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room))).participants):
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_inbound_caller_bye_reaches_the_bridge_through_the_proxy(tmp_path, proxy, transport):
    then = '  <pause milliseconds="300" />\n' + in_dialog("BYE", 2)

    async def scenario(bridge, lk):
        proc, _ = await inbound_via_proxy(tmp_path, bridge, lk, proxy, transport, then, "rr-in")
        rc = await proc.wait()
        log = traces(tmp_path)
        assert rc == 0, log + proxy.log()  # the proxy answers 404 to a BYE without its Route
        [ok] = [m for m in messages(log, "received", "SIP/2.0 200") if re.search(r"^CSeq: 1 INVITE", m, re.M)]
        assert re.search(rf"^Record-Route: <sip:127\.0\.0\.1:{proxy.port}[;>]", ok, re.M), ok
        [bye] = messages(log, "sent", "BYE sip:")
        assert re.search(rf"^Route: <sip:127\.0\.0\.1:{proxy.port}", bye, re.M), bye
        assert await gone(lk, "rr-in")

    run_with_bridge(tmp_path, scenario)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_remove_participant_sends_the_bridge_bye_through_the_proxy(tmp_path, proxy, transport):
    async def scenario(bridge, lk):
        proc, p = await inbound_via_proxy(tmp_path, bridge, lk, proxy, transport, BRIDGE_BYE, "rr-bye")
        await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="rr-bye", identity=p.identity))
        rc = await proc.wait()
        log = traces(tmp_path)
        assert rc == 0, log + proxy.log()
        [bye] = received(log, "BYE")
        assert via_proxy(bye, proxy.port), bye
        assert re.search(r"^BYE sip:sipp@127\.0\.0\.1:", bye, re.M), bye  # the caller's Contact
        assert await gone(lk, "rr-bye")

    run_with_bridge(tmp_path, scenario)


def test_refer_goes_through_the_proxy_and_notify_comes_back_through_it(tmp_path, proxy):
    sipfrag = "SIP/2.0 200 OK\n"
    then = ('  <recv request="REFER" />\n' + answer_request("202 Accepted", record_route=True)
            + in_dialog("NOTIFY", 2, "Event: refer\nSubscription-State: terminated;reason=noresource\n"
                        "Content-Type: message/sipfrag\n", sipfrag)
            + BRIDGE_BYE)

    async def scenario(bridge, lk):
        proc, p = await inbound_via_proxy(tmp_path, bridge, lk, proxy, "udp", then, "rr-xfer")
        await lk.sip.transfer_sip_participant(sip_pb.TransferSIPParticipantRequest(
            room_name="rr-xfer", participant_identity=p.identity, transfer_to="tel:+15551234567"))
        rc = await proc.wait()
        log = traces(tmp_path)
        assert rc == 0, log + proxy.log()
        [refer] = received(log, "REFER")
        assert via_proxy(refer, proxy.port) and "Refer-To: tel:+15551234567" in refer, refer
        [bye] = received(log, "BYE")
        assert via_proxy(bye, proxy.port), bye
        assert await gone(lk, "rr-xfer")

    run_with_bridge(tmp_path, scenario)


UAS_THROUGH_PROXY = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas behind the proxy">
  <recv request="INVITE" />
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:uas@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

{SDP_PCMU}

]]></send>
  <recv request="ACK" />
{BRIDGE_BYE}
</scenario>
"""


def test_outbound_call_through_a_trunk_whose_address_is_the_proxy(tmp_path, proxy):
    async def scenario(bridge, lk):
        port = free_port()
        proc = await sipp(tmp_path, UAS_THROUGH_PROXY, port=port)
        await asyncio.sleep(0.3)  # SIPp binds its port (the INVITE is retransmitted anyway)
        trunk = sip_pb.SIPOutboundTrunkInfo(name="via proxy", address=proxy.address, numbers=["+15550200"],
                                            headers={"X-Next-Hop": f"127.0.0.1:{port}"})
        trunk = await lk.sip.create_outbound_trunk(sip_pb.CreateSIPOutboundTrunkRequest(trunk=trunk))
        info = await lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
            sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550300", room_name="rr-out", wait_until_answered=True))
        await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="rr-out",
                                                                         identity=info.participant_identity))
        rc = await proc.wait()
        log = traces(tmp_path)
        assert rc == 0, log + proxy.log()
        [invite] = received(log, "INVITE")
        assert via_proxy(invite, proxy.port) and "X-Next-Hop" not in invite, invite
        [ack] = received(log, "ACK")
        [bye] = received(log, "BYE")
        assert via_proxy(ack, proxy.port) and via_proxy(bye, proxy.port), ack + bye
        assert re.search(r"^BYE sip:uas@127\.0\.0\.1:", bye, re.M), bye  # the callee's Contact
        assert await gone(lk, "rr-out")

    run_with_bridge(tmp_path, scenario)
