"""The bridge on the in-memory control plane (`sipconf.conformance.memory_ports`): it needs
nothing but its ports. Real UDP sockets on 127.0.0.1, routing through `sipconf.routing` on
the trunks and rules of the in-memory trunk directory, timers on a ManualClock."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.ports import CallPhase
from sipconf.bridge.server import Bridge
from sipconf.conformance.memory_ports import MemoryControlPlane

from .hostile_helpers import answered_call

ROOM, CALLER = "support", "sip_+15550111"
TRUNK = sip_pb.SIPInboundTrunkInfo(sip_trunk_id="ST_memorytrunk01", name="open", numbers=["+15550100"])
RULE = sip_pb.SIPDispatchRuleInfo(
    sip_dispatch_rule_id="SDR_memoryrule01", attributes={"team": "support"},
    rule=sip_pb.SIPDispatchRule(dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name=ROOM)))


def run(scenario) -> None:
    async def main():
        control_plane = MemoryControlPlane()
        control_plane.directory.put(TRUNK, RULE)
        async with Bridge(control_plane.ports, clock=ManualClock()) as bridge, Agent() as peer:
            await asyncio.wait_for(scenario(control_plane, bridge, peer), 15)
        assert control_plane.calls.control is None  # a closed bridge serves no calls

    asyncio.run(main())


def test_a_routed_call_joins_its_room_with_attributes_and_leaves_on_the_callers_bye():
    async def scenario(control_plane, bridge, peer):
        assert control_plane.calls.control is bridge
        invite, ok = await answered_call(peer, bridge.udp_address)
        participant = control_plane.participants.live[(ROOM, CALLER)]
        assert participant.sid.startswith("PA_") and participant.name == "Phone +15550111"
        attrs = participant.attributes
        assert attrs["team"] == "support" and attrs["sip.callStatus"] == "active"
        assert attrs["sip.trunkID"] == TRUNK.sip_trunk_id and attrs["sip.ruleID"] == RULE.sip_dispatch_rule_id
        assert attrs["sip.phoneNumber"] == "+15550111"
        bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
        peer.send(bye, bridge.udp_address)
        assert (await peer.final_to(bye)).status == 200
        assert control_plane.participants.live == {}
        assert control_plane.participants.history == [
            ("join", ROOM, CALLER), ("update", ROOM, CALLER), ("update", ROOM, CALLER), ("leave", ROOM, CALLER)]
        settled, ended = control_plane.reports.reports
        assert (settled.phase, settled.status, settled.room, settled.identity) == (CallPhase.SETTLED, 200, ROOM, CALLER)
        assert (ended.phase, ended.end_reason, ended.trunk_id) == (CallPhase.ENDED, "caller hung up", TRUNK.sip_trunk_id)

    run(scenario)


def test_a_participant_removed_by_the_control_plane_gets_its_caller_a_bye():
    async def scenario(control_plane, bridge, peer):
        invite, _ = await answered_call(peer, bridge.udp_address)
        control_plane.participants.remove(ROOM, CALLER)
        bye, addr = await peer.request("BYE")
        peer.send(peer.response(bye, 200), addr)
        assert bye.call_id == invite.call_id and bye.get("user-agent") == "LiveKit"
        assert control_plane.participants.live == {}
        assert control_plane.participants.history[-1] == ("removed", ROOM, CALLER)
        assert control_plane.reports.reports[-1].end_reason == "participant removed"

    run(scenario)


def test_a_rejected_call_is_settled_and_ended_with_no_participant():
    async def scenario(control_plane, bridge, peer):
        target = bridge.udp_address
        invite = peer.invite(target, "+15550111", "+15550199")  # no trunk has this number
        peer.send(invite, target)
        final = await peer.final_to(invite)
        assert (final.status, final.reason) == (404, "No trunk found")
        await control_plane.reports.wait_settled(1)
        assert [(r.phase, r.status, r.reason) for r in control_plane.reports.reports] == [
            (CallPhase.SETTLED, 404, "No trunk found"), (CallPhase.ENDED, 404, "No trunk found")]
        assert control_plane.participants.history == []

    run(scenario)


def test_the_bridge_imports_nothing_from_the_embedded_control_plane():
    code = ("import sys, sipconf.bridge.server, sipconf.bridge.ports, sipconf.conformance.memory_ports; "
            "print(sorted(m for m in sys.modules if m.startswith('sipconf.local')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
