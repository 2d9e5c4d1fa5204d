"""RoomService subset through the real client, and the bridge-facing Rooms API."""

from __future__ import annotations

import pytest
from livekit import api
from livekit.protocol import models

from sipconf.bridge.clock import ManualClock
from sipconf.local.rooms import ParticipantRemoved, Rooms


def test_rooms_over_the_client(serve):
    async def scenario(cp, lk):
        removed: list[ParticipantRemoved] = []
        cp.rooms.add_listener(removed.append)
        room = await lk.room.create_room(api.CreateRoomRequest(name="lobby", metadata="m"))
        assert room.sid.startswith("RM_") and len(room.sid) == 15 and room.name == "lobby"
        assert (await lk.room.create_room(api.CreateRoomRequest(name="lobby"))).sid == room.sid  # existing room returned
        p = cp.rooms.add_participant("lobby", "sip_+1555", name="Phone +1555", attributes={"sip.callID": "SCL_a"})
        assert p.sid.startswith("PA_") and p.kind == models.ParticipantInfo.Kind.SIP
        rooms = await lk.room.list_rooms(api.ListRoomsRequest())
        assert [(r.name, r.num_participants) for r in rooms.rooms] == [("lobby", 1)]
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="lobby"))
        assert [x.identity for x in listed.participants] == ["sip_+1555"]
        got = await lk.room.get_participant(api.RoomParticipantIdentity(room="lobby", identity="sip_+1555"))
        assert got.attributes["sip.callID"] == "SCL_a"
        upd = await lk.room.update_participant(api.UpdateParticipantRequest(room="lobby", identity="sip_+1555", metadata="md", attributes={"sip.callID": "", "k": "v"}))
        assert (upd.metadata, dict(upd.attributes), upd.name) == ("md", {"k": "v"}, "Phone +1555")
        await lk.room.remove_participant(api.RoomParticipantIdentity(room="lobby", identity="sip_+1555"))
        assert [(e.room, e.participant.identity, e.reason) for e in removed] == [("lobby", "sip_+1555", "removed")]
        with pytest.raises(api.TwirpError) as info:
            await lk.room.get_participant(api.RoomParticipantIdentity(room="lobby", identity="sip_+1555"))
        assert (info.value.code, info.value.message, info.value.status) == ("not_found", "participant does not exist", 404)
        cp.rooms.add_participant("lobby", "second")
        await lk.room.delete_room(api.DeleteRoomRequest(room="lobby"))
        assert removed[-1].reason == "room_deleted" and removed[-1].participant.identity == "second"
        with pytest.raises(api.TwirpError) as info:
            await lk.room.delete_room(api.DeleteRoomRequest(room="lobby"))
        assert (info.value.code, info.value.message) == ("not_found", "requested room does not exist")
        assert not (await lk.room.list_rooms(api.ListRoomsRequest())).rooms

    serve(scenario)


def test_rooms_clock_and_bridge_side_changes():
    rooms = Rooms(clock=lambda: 1700000000.5, timers=ManualClock())
    p = rooms.add_participant("r", "a", state=models.ParticipantInfo.State.JOINING)
    assert (p.joined_at, p.joined_at_ms) == (1700000000, 1700000000500)
    assert rooms.list_rooms(["r"])[0].creation_time == 1700000000
    assert dict(rooms.set_attributes("r", "a", {"sip.callStatus": "active"}).attributes) == {"sip.callStatus": "active"}
    events = []
    rooms.add_listener(events.append)
    rooms.participant_left("r", "a")  # the bridge's own hang-up: no callback
    assert events == [] and rooms.list_participants("r") == []
