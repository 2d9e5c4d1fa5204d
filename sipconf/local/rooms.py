"""Live rooms and participants (in memory; they do not survive a restart).

The SIP bridge (through `bridge_adapter`) adds SIP participants here when a call is routed
and updates their attributes (`sip.callStatus`). RoomService calls read and change the same
objects. When RemoveParticipant or DeleteRoom takes a participant out, every listener is
told, so the bridge can hang up that participant's call.

Rooms close on their own as LiveKit's do (livekit/livekit pkg/rtc/room.go:CloseIfEmpty):
a room nobody joined closes `empty_timeout` seconds after it was created; once someone has
joined, an empty room closes `departure_timeout` seconds after the last participant left.
A room with a participant never closes by itself. Timers run on an injected `Clock`, so
tests move time instead of sleeping.

The rooms' closing times share one timer: a heap of (due, order, room, lifetime), armed for the
earliest, at most every `SWEEP_INTERVAL`. A timer per room cost, at a thousand calls a second
with a room each, two timers set and one cancelled per call, and nine objects per room (handle,
closure, cells) that lived its 20 s of departure timeout and that every full pass of the cyclic
collector walked. A joining participant creates its room, as in LiveKit.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from livekit.protocol import models, room as room_pb

from sipconf.bridge.clock import Clock, LoopClock, SweepTimer
from sipconf.routing import ids
from sipconf.routing.errors import NOT_FOUND, LiveKitError

log = logging.getLogger("sipconf.local.rooms")

ROOM_NOT_FOUND = "requested room does not exist"
PARTICIPANT_NOT_FOUND = "participant does not exist"

# LiveKit's room defaults (livekit/livekit pkg/config/config.go:DefaultConfig, `Room`:
# EmptyTimeout 5 * 60, DepartureTimeout 20), given to every new room by
# pkg/service/roomallocator.go:applyDefaultRoomConfig; a CreateRoom value above 0 wins.
DEFAULT_EMPTY_TIMEOUT = 300
DEFAULT_DEPARTURE_TIMEOUT = 20

# The least time between two sweeps of the closing times: a room may close this much late
# (at a thousand rooms a second, one timer a room otherwise).
SWEEP_INTERVAL = 0.05

# Why a room closed, as `Rooms.closed` counts them.
EMPTY_TIMEOUT, DEPARTURE_TIMEOUT, DELETED = "empty_timeout", "departure_timeout", "deleted"


@dataclass(frozen=True)
class ParticipantRemoved:
    """A participant left because of the API: `reason` is `removed` or `room_deleted`."""

    room: str
    participant: models.ParticipantInfo
    reason: str


Listener = Callable[[ParticipantRemoved], None]


@dataclass(eq=False)
class _Lifetime:
    """When a room may close: times are on the timer clock, not Unix seconds."""

    created: float
    last_left: float | None = None  # set once a participant has left (LiveKit's LastLeftAt)
    due: float | None = None  # when it closes, while it is empty
    item: int = -1  # the order number of its heap item for `due`; every other item is stale


def _current(item: tuple[float, int, str, _Lifetime], lifetimes: dict[str, _Lifetime]) -> bool:
    """Whether a closing-time item still stands: its room's current lifetime, empty, due then."""
    _, order, name, lifetime = item
    return lifetime.item == order and lifetime.due is not None and lifetimes.get(name) is lifetime


def _room_not_found() -> LiveKitError:
    return LiveKitError(NOT_FOUND, ROOM_NOT_FOUND)


def _participant_not_found() -> LiveKitError:
    return LiveKitError(NOT_FOUND, PARTICIPANT_NOT_FOUND)


class Rooms:
    """Rooms by name, each with participants by identity. `clock` returns Unix seconds."""

    def __init__(self, clock: Callable[[], float] = time.time, timers: Clock | None = None, *,
                 empty_timeout: int = DEFAULT_EMPTY_TIMEOUT, departure_timeout: int = DEFAULT_DEPARTURE_TIMEOUT) -> None:
        self._clock = clock
        self._timers: Clock = timers or LoopClock()
        # What a new room gets unless CreateRoom says otherwise (LiveKit's `room` config).
        self.empty_timeout, self.departure_timeout = empty_timeout, departure_timeout
        self._rooms: dict[str, models.Room] = {}
        self._participants: dict[str, dict[str, models.ParticipantInfo]] = {}
        self._lifetimes: dict[str, _Lifetime] = {}
        # Closing times: (due, order, room, lifetime), an item stale once its lifetime's `due`
        # moved or the room went; one timer for the earliest.
        self._closing: list[tuple[float, int, str, _Lifetime]] = []
        self._order = itertools.count()
        self._sweeper = SweepTimer(self._timers, SWEEP_INTERVAL, self._expire)
        self._listeners: list[Listener] = []
        self.closed: dict[str, int] = {}  # why -> rooms closed so far (metrics)
        # Totals for metrics: joined - left is always the participants in rooms now.
        self.created = self.joined = self.left = 0

    @property
    def room_count(self) -> int:
        return len(self._rooms)

    @property
    def participant_count(self) -> int:
        return sum(len(people) for people in self._participants.values())

    # -- listeners ------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` on every API removal; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, event: ParticipantRemoved) -> None:
        for listener in list(self._listeners):
            listener(event)

    # -- rooms ----------------------------------------------------------------------------

    def create_room(self, req: room_pb.CreateRoomRequest) -> models.Room:
        """A new room gets LiveKit's defaults; when the name is taken, the existing room is
        returned with the request's non-zero settings applied (pkg/service/roomallocator.go:CreateRoom)."""
        room = self._create(req.name, req)
        self._arm(req.name)
        return _copy(room)

    def _create(self, name: str, req: room_pb.CreateRoomRequest | None = None) -> models.Room:
        """The room `name`, made with the defaults if new; `req`'s non-zero settings applied."""
        room = self._rooms.get(name)
        if room is None:
            now = self._clock()
            room = models.Room(
                sid=ids.new_id(ids.ROOM),
                name=name,
                empty_timeout=self.empty_timeout,
                departure_timeout=self.departure_timeout,
                creation_time=int(now),
                creation_time_ms=int(now * 1000),
            )
            self._rooms[name] = room
            self._participants[name] = {}
            self._lifetimes[name] = _Lifetime(created=self._timers.now())
            self.created += 1
        if req is None:
            return room
        if req.empty_timeout > 0:
            room.empty_timeout = req.empty_timeout
        if req.departure_timeout > 0:
            room.departure_timeout = req.departure_timeout
        if req.max_participants > 0:
            room.max_participants = req.max_participants
        if req.metadata:
            room.metadata = req.metadata
        return room

    def list_rooms(self, names: Iterable[str] = ()) -> list[models.Room]:
        wanted = set(names)
        return [self._room_view(n) for n in sorted(self._rooms) if not wanted or n in wanted]

    def delete_room(self, name: str) -> None:
        if name not in self._rooms:
            raise _room_not_found()
        participants = self._close(name, DELETED)
        for p in participants.values():
            self._notify(ParticipantRemoved(name, p, "room_deleted"))

    def close(self) -> None:
        """The server stops: live rooms end with it, and no timer is left behind."""
        for name in list(self._rooms):
            self._close(name, None)
        self._sweeper.cancel()
        self._closing.clear()

    def _close(self, name: str, why: str | None) -> dict[str, models.ParticipantInfo]:
        del self._rooms[name]
        self._lifetimes.pop(name).due = None
        participants = self._participants.pop(name, {})
        if why is not None:
            self.closed[why] = self.closed.get(why, 0) + 1
            self.left += len(participants)
        return participants

    # -- lifecycle ------------------------------------------------------------------------

    def _arm(self, name: str) -> None:
        """Set the room's closing time: none while someone is in it; else the departure
        timeout from the last leave once anyone has left, or the empty timeout from creation
        (pkg/rtc/room.go:CloseIfEmpty)."""
        lifetime = self._lifetimes[name]
        if self._participants[name]:
            lifetime.due = None
            return
        room = self._rooms[name]
        if lifetime.last_left is not None:
            due = lifetime.last_left + room.departure_timeout
        else:
            due = lifetime.created + room.empty_timeout
        if lifetime.due == due:
            return
        lifetime.due, lifetime.item = due, next(self._order)
        heapq.heappush(self._closing, (due, lifetime.item, name, lifetime))
        if len(self._closing) > 2 * len(self._rooms) + 1024:
            self._compact()
        self._sweeper.want(due)

    def _compact(self) -> None:
        """Only the items of rooms that will close: the rest went stale (a join, a delete)."""
        self._closing = [item for item in self._closing if _current(item, self._lifetimes)]
        heapq.heapify(self._closing)

    def _expire(self, until: float) -> None:
        """Close every room due by `until`, then wait for the next."""
        heap = self._closing
        while heap and heap[0][0] <= until:
            item = heapq.heappop(heap)
            # A stale item: the room is gone (or is a new room of that name), someone joined,
            # or its closing time moved.
            if not _current(item, self._lifetimes):
                continue
            name, lifetime = item[2], item[3]
            why = DEPARTURE_TIMEOUT if lifetime.last_left is not None else EMPTY_TIMEOUT
            self._close(name, why)
            log.debug("room %s closed: %s", name, why.replace("_", " "))
        if heap:
            self._sweeper.want(heap[0][0])

    def _left(self, room: str) -> None:
        self.left += 1
        self._lifetimes[room].last_left = self._timers.now()
        self._arm(room)

    def _room_view(self, name: str) -> models.Room:
        room = _copy(self._rooms[name])
        room.num_participants = len(self._participants[name])
        return room

    # -- participants ---------------------------------------------------------------------

    def add_participant(self, room: str, identity: str, **fields) -> models.ParticipantInfo:
        """Join `identity` to `room` (created if needed); a rejoin replaces the old session.
        `fields`: `name`, `kind`, `metadata`, `attributes`, `state`."""
        return _copy(self._join(room, identity, **fields))

    def join(self, room: str, identity: str, **fields) -> str:
        """`add_participant` for the bridge, a call each: the participant's sid, no copy made."""
        return self._join(room, identity, **fields).sid

    def _join(
        self,
        room: str,
        identity: str,
        *,
        name: str = "",
        kind: int = models.ParticipantInfo.Kind.SIP,
        metadata: str = "",
        attributes: Mapping[str, str] | None = None,
        state: int = models.ParticipantInfo.State.JOINED,
    ) -> models.ParticipantInfo:
        self._create(room)  # armed below, once it has someone
        now = self._clock()
        p = models.ParticipantInfo(
            sid=ids.new_id(ids.PARTICIPANT),
            identity=identity,
            name=name,
            kind=kind,
            metadata=metadata,
            state=state,
            joined_at=int(now),
            joined_at_ms=int(now * 1000),
            version=1,
        )
        p.attributes.update(attributes or {})
        if identity in self._participants[room]:
            self.left += 1  # the old session leaves
        self._participants[room][identity] = p
        self.joined += 1
        self._arm(room)
        return p

    def _find(self, room: str, identity: str) -> models.ParticipantInfo:
        p = self._participants.get(room, {}).get(identity)
        if p is None:
            raise _participant_not_found()
        return p

    def get_participant(self, room: str, identity: str) -> models.ParticipantInfo:
        return _copy(self._find(room, identity))

    def list_participants(self, room: str) -> list[models.ParticipantInfo]:
        """Participants in join order; an unknown room has none."""
        return [_copy(p) for p in self._participants.get(room, {}).values()]

    def remove_participant(self, room: str, identity: str) -> None:
        """The API removal: the bridge hangs up the call (listeners)."""
        p = self._find(room, identity)
        del self._participants[room][identity]
        self._left(room)
        self._notify(ParticipantRemoved(room, p, "removed"))

    def participant_left(self, room: str, identity: str) -> None:
        """The bridge's own removal (caller hung up): no listener is called back."""
        if self._participants.get(room, {}).pop(identity, None) is not None:
            self._left(room)

    def update_participant(self, req: room_pb.UpdateParticipantRequest) -> models.ParticipantInfo:
        """RoomService.UpdateParticipant: non-empty metadata/name replace; attributes merge,
        an empty value deletes the key (LiveKit's attribute update)."""
        p = self._find(req.room, req.identity)
        if req.metadata:
            p.metadata = req.metadata
        if req.name:
            p.name = req.name
        if req.HasField("permission"):
            p.permission.CopyFrom(req.permission)
        _merge_attributes(p, req.attributes)
        p.version += 1
        return _copy(p)

    def set_attributes(self, room: str, identity: str, attributes: Mapping[str, str]) -> models.ParticipantInfo:
        """Merge `attributes` (empty value deletes); the participant as it is then."""
        self.merge_attributes(room, identity, attributes)
        return _copy(self._find(room, identity))

    def merge_attributes(self, room: str, identity: str, attributes: Mapping[str, str]) -> None:
        """`set_attributes` for the bridge (`sip.callStatus`), no copy made."""
        p = self._find(room, identity)
        _merge_attributes(p, attributes)
        p.version += 1


def _merge_attributes(p: models.ParticipantInfo, changes: Mapping[str, str]) -> None:
    for key, value in changes.items():
        if value:
            p.attributes[key] = value
        else:
            p.attributes.pop(key, None)


def _copy(msg):
    out = type(msg)()
    out.CopyFrom(msg)
    return out
