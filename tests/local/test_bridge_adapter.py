"""The bridge's ports over the embedded control plane, driven through the real client where
the API is involved (RoomService removals, CreateSIPParticipant)."""

from __future__ import annotations

import pytest
from livekit import api
from livekit.protocol import sip

from sipconf.bridge.ports import ParticipantJoin, ParticipantRemoved
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane
from sipconf.local.store import LEGACY


def test_the_directory_lists_what_the_api_stored_and_its_version_moves_with_every_write(serve):
    async def scenario(cp, lk):
        directory = bridge_ports(cp).directory
        empty = directory.version()
        assert directory.version() == empty and directory.current().inbound == ()
        trunk = await lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(
            trunk=sip.SIPInboundTrunkInfo(name="in", numbers=["+15550100"])))
        after_trunk = directory.version()
        assert after_trunk != empty
        rule = await lk.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(rule=sip.SIPDispatchRule(
            dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="r"))))
        with cp.store.write() as tx:
            tx.put(LEGACY, sip.SIPTrunkInfo(sip_trunk_id="ST_legacytrunk01", outbound_address="127.0.0.1"))
        assert directory.version() not in (empty, after_trunk)
        current = directory.current()
        assert [t.sip_trunk_id for t in current.inbound] == [trunk.sip_trunk_id]
        assert [r.sip_dispatch_rule_id for r in current.rules] == [rule.sip_dispatch_rule_id]
        assert [t.sip_trunk_id for t in current.legacy] == ["ST_legacytrunk01"] and current.outbound == ()

    serve(scenario)


def test_the_directory_of_a_stopped_control_plane_says_so(tmp_path):
    directory = bridge_ports(ControlPlane(state_path=tmp_path / "s.db")).directory
    with pytest.raises(RuntimeError, match="^the control plane is not running, so its trunks and rules cannot be read$"):
        directory.version()


def test_participants_join_update_leave_and_api_removals_reach_the_listener(serve):
    async def scenario(cp, lk):
        sink = bridge_ports(cp).participants
        removed: list[ParticipantRemoved] = []
        unsubscribe = sink.on_removed(removed.append)
        sid = sink.join(ParticipantJoin("lobby", "sip_+1", "Phone +1", "md", {"sip.callStatus": "ringing"}))
        [p] = (await lk.room.list_participants(api.ListParticipantsRequest(room="lobby"))).participants
        assert (p.sid, p.identity, p.name, p.metadata, p.kind) == (sid, "sip_+1", "Phone +1", "md", p.Kind.SIP)
        assert sink.update_attributes("lobby", "sip_+1", {"sip.callStatus": "active", "x": "1"}) is True
        assert sink.update_attributes("lobby", "sip_+1", {"x": ""}) is True  # an empty value deletes
        got = await lk.room.get_participant(api.RoomParticipantIdentity(room="lobby", identity="sip_+1"))
        assert dict(got.attributes) == {"sip.callStatus": "active"}
        await lk.room.remove_participant(api.RoomParticipantIdentity(room="lobby", identity="sip_+1"))
        assert removed == [ParticipantRemoved("lobby", "sip_+1", "removed")]
        assert sink.update_attributes("lobby", "sip_+1", {"sip.callStatus": "hangup"}) is False
        sink.join(ParticipantJoin("lobby", "sip_+2"))
        sink.leave("lobby", "sip_+2")  # the bridge's own hang-up: no removal event
        assert removed == [ParticipantRemoved("lobby", "sip_+1", "removed")]
        sink.join(ParticipantJoin("lobby", "sip_+3"))
        await lk.room.delete_room(api.DeleteRoomRequest(room="lobby"))
        assert removed[-1] == ParticipantRemoved("lobby", "sip_+3", "room_deleted")
        unsubscribe()
        sink.join(ParticipantJoin("lobby", "sip_+4"))
        await lk.room.remove_participant(api.RoomParticipantIdentity(room="lobby", identity="sip_+4"))
        assert len(removed) == 2

    serve(scenario)


class Recorder:
    """A CallControl that records what it was handed."""

    def __init__(self) -> None:
        self.requests: list = []

    async def create_sip_participant(self, req):
        self.requests.append(req)
        return sip.SIPParticipantInfo(participant_identity=req.participant_identity, room_name=req.room_name)

    async def transfer_sip_participant(self, req):
        self.requests.append(req)


def test_call_requests_reach_the_serving_bridge_until_it_stops(serve):
    async def scenario(cp, lk):
        trunk = await lk.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(
            trunk=sip.SIPOutboundTrunkInfo(name="out", address="127.0.0.1", numbers=["+1"])))
        req = sip.CreateSIPParticipantRequest(sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+1555",
                                              room_name="r", participant_identity="callee")
        recorder, other = Recorder(), Recorder()
        stop = bridge_ports(cp).calls.serve(recorder)
        assert (await lk.sip.create_sip_participant(req)).participant_identity == "callee"
        assert recorder.requests == [req]
        stop_other = bridge_ports(cp).calls.serve(other)
        stop()  # no longer the backend: stopping leaves the other one in place
        await lk.sip.create_sip_participant(req)
        assert (len(recorder.requests), other.requests) == (1, [req])
        stop_other()
        with pytest.raises(api.TwirpError) as info:
            await lk.sip.create_sip_participant(req)
        assert info.value.code == "unavailable"

    serve(scenario)
