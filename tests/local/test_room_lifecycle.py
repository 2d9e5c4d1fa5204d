"""Rooms close on their own as LiveKit's do: a room nobody joined after `empty_timeout`, an
emptied room `departure_timeout` after its last participant left; a room with someone in it
stays. Driven through the real client; time moves on a ManualClock, nobody sleeps."""

from __future__ import annotations

from livekit import api

from sipconf.bridge.clock import ManualClock
from sipconf.bridge.ports import ParticipantJoin
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.rooms import DEFAULT_DEPARTURE_TIMEOUT, DEFAULT_EMPTY_TIMEOUT


async def room_names(lk) -> list[str]:
    return [room.name for room in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms]


def test_a_new_room_gets_livekits_default_timeouts_and_explicit_ones_win(serve):
    async def scenario(cp, lk):
        room = await lk.room.create_room(api.CreateRoomRequest(name="defaults"))
        assert (room.empty_timeout, room.departure_timeout) == (DEFAULT_EMPTY_TIMEOUT, DEFAULT_DEPARTURE_TIMEOUT) == (300, 20)
        room = await lk.room.create_room(api.CreateRoomRequest(name="explicit", empty_timeout=7, departure_timeout=3))
        assert (room.empty_timeout, room.departure_timeout) == (7, 3)
        # The name is taken: the same room comes back with the non-zero settings applied.
        again = await lk.room.create_room(api.CreateRoomRequest(name="explicit", empty_timeout=9))
        assert (again.sid, again.empty_timeout, again.departure_timeout) == (room.sid, 9, 3)

    serve(scenario, timers=ManualClock())


def test_a_room_nobody_joined_closes_after_its_empty_timeout(serve):
    clock = ManualClock()

    async def scenario(cp, lk):
        await lk.room.create_room(api.CreateRoomRequest(name="never-joined", empty_timeout=30))
        await lk.room.create_room(api.CreateRoomRequest(name="default-timeout"))
        clock.advance(29)
        assert await room_names(lk) == ["default-timeout", "never-joined"]
        clock.advance(1)
        assert await room_names(lk) == ["default-timeout"]
        clock.advance(DEFAULT_EMPTY_TIMEOUT - 30 - 1)
        assert await room_names(lk) == ["default-timeout"]
        clock.advance(1)
        assert await room_names(lk) == []
        assert cp.rooms.closed == {"empty_timeout": 2}

    serve(scenario, timers=clock)


def test_a_room_closes_its_departure_timeout_after_the_last_participant_left(serve):
    clock = ManualClock()

    async def scenario(cp, lk):
        await lk.room.create_room(api.CreateRoomRequest(name="lobby", departure_timeout=10))
        cp.rooms.add_participant("lobby", "first")
        cp.rooms.add_participant("lobby", "second")
        clock.advance(DEFAULT_EMPTY_TIMEOUT * 2)  # occupied: neither timeout applies
        await lk.room.remove_participant(api.RoomParticipantIdentity(room="lobby", identity="first"))
        clock.advance(60)
        assert await room_names(lk) == ["lobby"]  # "second" is still in it
        await lk.room.remove_participant(api.RoomParticipantIdentity(room="lobby", identity="second"))
        clock.advance(9)
        assert await room_names(lk) == ["lobby"]
        cp.rooms.add_participant("lobby", "back")  # a rejoin within the timeout keeps the room
        clock.advance(60)
        cp.rooms.participant_left("lobby", "back")
        clock.advance(9)
        assert await room_names(lk) == ["lobby"]
        clock.advance(1)
        assert await room_names(lk) == []
        assert cp.rooms.closed == {"departure_timeout": 1}

    serve(scenario, timers=clock)


def test_a_room_the_bridge_joined_closes_after_the_sip_participant_leaves(serve):
    clock = ManualClock()

    async def scenario(cp, lk):
        sink = bridge_ports(cp).participants
        sink.join(ParticipantJoin("call-room", "sip_+15550111"))
        [room] = (await lk.room.list_rooms(api.ListRoomsRequest())).rooms
        assert (room.name, room.num_participants, room.departure_timeout) == ("call-room", 1, DEFAULT_DEPARTURE_TIMEOUT)
        clock.advance(DEFAULT_EMPTY_TIMEOUT + 1)  # someone is in it: it stays
        assert await room_names(lk) == ["call-room"]
        sink.leave("call-room", "sip_+15550111")  # the caller hung up
        clock.advance(DEFAULT_DEPARTURE_TIMEOUT - 1)
        assert await room_names(lk) == ["call-room"]
        clock.advance(1)
        assert await room_names(lk) == []

    serve(scenario, timers=clock)


def test_a_room_with_a_participant_stays_and_a_deleted_room_leaves_no_timer(serve):
    clock = ManualClock()

    async def scenario(cp, lk):
        cp.rooms.add_participant("busy", "agent")
        await lk.room.create_room(api.CreateRoomRequest(name="doomed", empty_timeout=5))
        await lk.room.delete_room(api.DeleteRoomRequest(room="doomed"))
        await lk.room.create_room(api.CreateRoomRequest(name="doomed", empty_timeout=50))
        clock.advance(5)  # the deleted room's timer must not close the new room of that name
        assert await room_names(lk) == ["busy", "doomed"]
        clock.advance(10 * 24 * 3600)
        assert await room_names(lk) == ["busy"]
        assert cp.rooms.closed == {"deleted": 1, "empty_timeout": 1}
        assert clock.pending == 0  # the occupied room has no close timer

    serve(scenario, timers=clock)


def test_a_stopped_control_plane_leaves_no_rooms_or_timers(serve):
    clock = ManualClock()
    kept = {}

    async def scenario(cp, lk):
        await lk.room.create_room(api.CreateRoomRequest(name="r"))
        kept["rooms"] = cp.rooms
        assert clock.pending == 1

    serve(scenario, timers=clock)
    assert kept["rooms"].room_count == 0 and clock.pending == 0


def _pending_timers(clock: ManualClock) -> int:
    return sum(1 for _, _, handle in clock._queue if not handle.cancelled)


def test_rooms_share_one_timer_and_stale_closing_times_stay_bounded():
    from sipconf.local.rooms import Rooms
    from livekit.protocol import room as room_pb

    clock = ManualClock()
    rooms = Rooms(timers=clock, departure_timeout=20)
    for n in range(3000):  # a call each: its room created by the join, left at once
        rooms.add_participant(f"call-{n}", "caller")
        rooms.participant_left(f"call-{n}", "caller")
        if n % 100 == 99:
            clock.advance(1)
        assert _pending_timers(clock) <= 1
    # Now t = 30 s: the rooms left at 0-10 s closed, those left at 11-29 s wait out their 20 s.
    assert rooms.room_count == 19 * 100
    # A room left, deleted and made again under its name keeps its new timeout, not the old one.
    rooms.add_participant("reused", "a")
    rooms.participant_left("reused", "a")
    rooms.delete_room("reused")
    rooms.create_room(room_pb.CreateRoomRequest(name="reused", empty_timeout=100))
    # Joins and leaves over and over leave stale items, which are dropped as they pile up.
    for _ in range(5000):
        rooms.add_participant("busy", "x")
        rooms.participant_left("busy", "x")
    assert len(rooms._closing) <= 2 * rooms.room_count + 1024
    clock.advance(30)  # t = 60 s: every room left by 30 s closed; the new "reused" stays
    assert [r.name for r in rooms.list_rooms()] == ["reused"]
    assert rooms.closed == {"departure_timeout": 3001, "deleted": 1}
    clock.advance(70)  # t = 130 s: its empty timeout, from its creation at 30 s
    assert rooms.room_count == 0 and rooms.closed["empty_timeout"] == 1
    assert _pending_timers(clock) == 0
