"""Nothing of an outbound call outlives it: once it ends, the bridge keeps it in no table,
while its INVITE transaction still ACKs a retransmitted 2xx until 64*T1 has passed; then no
transaction is left either. Real bridge and control plane on 127.0.0.1, dialled through the
real `livekit-api` client; timers run on a ManualClock. `SIPCONF_SOAK=1` (`make soak`) places
1,000 calls instead of 3."""

from __future__ import annotations

import asyncio
import os

from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.agent.build import Dialog
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.metrics import render
from sipconf.bridge.server import Bridge
from sipconf.bridge.transaction import T1
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

from .test_calls_inbound import KEY, SECRET

CALLS = 1000 if os.environ.get("SIPCONF_SOAK") == "1" else 3


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.split("{")[0].split(" ")[0] == name)


def test_ended_outbound_calls_leave_no_entry_behind_and_late_2xx_are_still_acked(tmp_path):
    clock = ManualClock()

    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp, Agent() as peer:
            async with Bridge(bridge_ports(cp), clock=clock) as bridge, api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                trunk = await lk.sip.create_outbound_trunk(sip_pb.CreateSIPOutboundTrunkRequest(
                    trunk=sip_pb.SIPOutboundTrunkInfo(name="out", address=f"{peer.host}:{peer.port}",
                                                      numbers=["+15550003333"])))
                for n in range(CALLS):
                    start = len(peer.messages)
                    created = asyncio.ensure_future(lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
                        sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550004444", room_name=f"out{n}",
                        participant_identity="callee", wait_until_answered=True)))
                    invite, addr = await peer.request("INVITE", start=start)
                    ok = peer.response(invite, 200, tag=f"peer{n}", headers=[("Contact", peer.contact)],
                                       body=peer.offer())
                    peer.send(ok, addr)
                    await created
                    await peer.request("ACK", start=start)
                    assert len(bridge.outbound.by_call_id) == 1
                    bye = Dialog.as_callee(invite, ok).request("BYE", peer.via)
                    peer.send(bye, addr)
                    assert (await peer.final_to(bye)).status == 200
                    assert bridge.outbound.by_call_id == {}  # ended: forgotten at once
                    mark = len(peer.messages)
                    peer.send(ok, addr)  # the 2xx again, as if our ACK had been lost
                    await peer.request("ACK", start=mark)
                assert (bridge.dialogs, bridge.participants, bridge.pending) == ({}, {}, {})
                clock.advance(64 * T1)  # every transaction's linger timer (B, D, J, K, L, M) is due
                assert (bridge.tm.server, bridge.tm.client) == ({}, {})
                assert cp.rooms.participant_count == 0
                assert (cp.rooms.joined, cp.rooms.left) == (CALLS, CALLS)
                text = render(bridge.metrics.families(bridge))
                assert metric(text, "sipconf_sip_transactions") == 0
                assert metric(text, "sipconf_sip_calls_in_progress") == 0

    asyncio.run(asyncio.wait_for(main(), 30 + CALLS / 10))
