"""The timeouts a new room gets are the control plane's to set (`sipconf up
--room-empty-timeout/--room-departure-timeout`, LiveKit's values by default), and /metrics
counts every room and participant that came and went, so a soak can tell that all of them
left. Real server, real client; time moves on a ManualClock."""

from __future__ import annotations

import asyncio

from livekit import api

from sipconf.bridge.clock import ManualClock
from sipconf.bridge.ports import ParticipantJoin
from sipconf.local.bridge_adapter import bridge_ports
from tests.local.test_health import get, samples
from tests.local.up_process import run_up, start_up


def test_new_rooms_get_the_configured_timeouts_and_explicit_ones_still_win(serve):
    clock = ManualClock()

    async def scenario(cp, lk):
        room = await lk.room.create_room(api.CreateRoomRequest(name="configured"))
        assert (room.empty_timeout, room.departure_timeout) == (7, 3)
        room = await lk.room.create_room(api.CreateRoomRequest(name="explicit", empty_timeout=60, departure_timeout=30))
        assert (room.empty_timeout, room.departure_timeout) == (60, 30)
        sink = bridge_ports(cp).participants
        sink.join(ParticipantJoin("call", "sip_+15550111"))  # the caller's room, created by the join
        sink.leave("call", "sip_+15550111")
        clock.advance(3)
        assert [r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms] == ["configured", "explicit"]
        clock.advance(4)
        assert [r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms] == ["explicit"]
        assert cp.rooms.closed == {"departure_timeout": 1, "empty_timeout": 1}

    serve(scenario, timers=clock, room_empty_timeout=7, room_departure_timeout=3)


def test_participants_joined_minus_left_is_always_who_is_in_a_room(serve):
    async def scenario(cp, lk):
        rooms = cp.rooms
        rooms.add_participant("a", "first")
        rooms.add_participant("a", "first")  # a rejoin: the old session left
        rooms.add_participant("a", "second")
        rooms.add_participant("b", "third")
        rooms.participant_left("a", "second")  # the caller hung up
        rooms.participant_left("a", "second")  # already gone: nothing counted
        await lk.room.remove_participant(api.RoomParticipantIdentity(room="a", identity="first"))
        rooms.add_participant("c", "fourth")
        await lk.room.delete_room(api.DeleteRoomRequest(room="c"))  # its participant leaves with it
        assert (rooms.created, rooms.joined, rooms.left) == (3, 5, 4)
        assert rooms.joined - rooms.left == rooms.participant_count == 1
        status, text = await get(cp.url + "/metrics")
        scraped = samples(text)
        assert status == 200
        assert (scraped["sipconf_rooms_created_total"], scraped["sipconf_participants_joined_total"],
                scraped["sipconf_participants_left_total"]) == (3, 5, 4)
        assert scraped["sipconf_asyncio_tasks"] >= 1  # the task answering this scrape, at least

    serve(scenario)


def test_up_takes_the_room_timeout_flags(tmp_path):
    up = start_up(tmp_path / "s.db", "--room-empty-timeout", "9", "--room-departure-timeout", "4")
    try:
        async def create():
            async with api.LiveKitAPI(*up.credentials) as lk:
                return await lk.room.create_room(api.CreateRoomRequest(name="r"))

        room = asyncio.run(create())
        assert (room.empty_timeout, room.departure_timeout) == (9, 4)
    finally:
        up.stop()
        up.kill()


def test_up_refuses_a_room_timeout_of_zero_in_one_line(tmp_path):
    refused = run_up(tmp_path / "s.db", "--room-departure-timeout", "0")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "--room-departure-timeout 0: expected a number of seconds from 1 to 4294967295"]
