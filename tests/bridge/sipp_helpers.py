"""What the SIPp end-to-end tests share: the control plane + bridge harness, ports, and the
pieces of SIPp scenario XML that several scenarios repeat."""

from __future__ import annotations

import asyncio
import shutil
import socket

from livekit import api
from livekit.protocol import room as room_pb, sip as sip_pb

from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"

# The headers a SIPp UAS copies into its final response to the INVITE, with its own To tag.
UAS_FINAL_HEADERS = """[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]"""

# The PCMU-only SDP body SIPp offers or answers with.
SDP_PCMU = """v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000"""

# The From of a SIPp UAC, with its own tag.
UAC_FROM = "From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"


def invite_with_offer(request_uri: str, to: str, contact: str) -> str:
    """The UAC's INVITE (retransmitted) offering SDP_PCMU; the expected responses are the caller's."""
    return f"""
  <send retrans="500"><![CDATA[
INVITE {request_uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{UAC_FROM}
{to}
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: {contact}
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{SDP_PCMU}

]]></send>"""


def ack_after_answer(to: str, *, routes: bool = False) -> str:
    """The UAC's wait for the 200 (100 and 180 optional), keeping its Record-Route (rrs), and its
    ACK to the 200's Contact; with `routes`, the ACK carries the route set ([routes])."""
    route = "[routes]\n" if routes else ""
    return f"""
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="200" rrs="true" />
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{route}{UAC_FROM}
{to}[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>"""


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_with_bridge(tmp_path, scenario) -> None:
    """Run ``scenario(bridge, lk)`` (30 s at most) against a fresh control plane and bridge."""

    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp)) as bridge, api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                await asyncio.wait_for(scenario(bridge, lk), 30)

    asyncio.run(main())


async def inbound_setup(lk, room: str) -> None:
    """An open inbound trunk for +15550100 and a direct dispatch rule into ``room``."""
    trunk = sip_pb.SIPInboundTrunkInfo(name="open", numbers=["+15550100"])
    await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(trunk=trunk))
    rule = sip_pb.SIPDispatchRule(dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name=room))
    await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(rule=rule))


def answer_request(code: str, *, record_route: bool = False) -> str:
    """SIPp's response `code` to the request it just received; with `record_route` it copies the
    proxy's Record-Route back (RFC 3261 12.1.1), as a UAS behind a record-routing proxy does."""
    route = "[last_Record-Route:]\n" if record_route else ""
    return f"""
  <send><![CDATA[
SIP/2.0 {code}
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
{route}Contact: <sip:sipp@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
"""


async def sipp(tmp_path, xml: str, *args: str, port: int | None = None) -> asyncio.subprocess.Process:
    """Start SIPp on `xml` for one call, on free local ports, tracing messages into `tmp_path`."""
    path = tmp_path / f"scenario{free_port()}.xml"
    path.write_text(xml)
    ports = ["-p", str(port or free_port()), "-cp", str(free_port()), "-mp", str(free_port())]
    return await asyncio.create_subprocess_exec(
        SIPP, "-sf", str(path), *args, "-i", "127.0.0.1", *ports, "-m", "1", "-nostdin", "-timeout", "10s",
        "-trace_msg", "-trace_err", cwd=str(tmp_path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


def traces(tmp_path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("*.log")))


async def wait_participant(lk, room, patience: float = 20.0):
    """The room's active participant; `patience` seconds only bound a loaded machine's wait."""
    deadline = asyncio.get_running_loop().time() + patience
    while asyncio.get_running_loop().time() < deadline:
        found = (await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room))).participants
        if found and found[0].attributes.get("sip.callStatus") == "active":
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no active participant in {room}")
