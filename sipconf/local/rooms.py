"""Live rooms and participants (in memory; they do not survive a restart).

The SIP bridge adds SIP participants here when a call is routed and updates their state
and attributes (`sip.callStatus`, docs/livekit.md#attributes). RoomService calls read and change the
same objects. When RemoveParticipant or DeleteRoom takes a participant out, every listener
is told, so the bridge can hang up that participant's call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from livekit.protocol import models, room as room_pb

from sipconf.routing import ids
from sipconf.routing.errors import NOT_FOUND, LiveKitError

ROOM_NOT_FOUND = "requested room does not exist"
PARTICIPANT_NOT_FOUND = "participant does not exist"


@dataclass(frozen=True)
class ParticipantRemoved:
    """A participant left because of the API: `reason` is `removed` or `room_deleted`."""

    room: str
    participant: models.ParticipantInfo
    reason: str


Listener = Callable[[ParticipantRemoved], None]


def _room_not_found() -> LiveKitError:
    return LiveKitError(NOT_FOUND, ROOM_NOT_FOUND)


def _participant_not_found() -> LiveKitError:
    return LiveKitError(NOT_FOUND, PARTICIPANT_NOT_FOUND)


class Rooms:
    """Rooms by name, each with participants by identity. `clock` returns Unix seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._rooms: dict[str, models.Room] = {}
        self._participants: dict[str, dict[str, models.ParticipantInfo]] = {}
        self._listeners: list[Listener] = []

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
        """LiveKit returns the existing room when the name is taken."""
        existing = self._rooms.get(req.name)
        if existing is not None:
            return _copy(existing)
        now = self._clock()
        room = models.Room(
            sid=ids.new_id(ids.ROOM),
            name=req.name,
            empty_timeout=req.empty_timeout,
            departure_timeout=req.departure_timeout,
            max_participants=req.max_participants,
            metadata=req.metadata,
            creation_time=int(now),
            creation_time_ms=int(now * 1000),
        )
        self._rooms[req.name] = room
        self._participants[req.name] = {}
        return _copy(room)

    def ensure_room(self, name: str) -> models.Room:
        """A joining participant creates its room, as in LiveKit."""
        return self.create_room(room_pb.CreateRoomRequest(name=name))

    def list_rooms(self, names: Iterable[str] = ()) -> list[models.Room]:
        wanted = set(names)
        return [self._room_view(n) for n in sorted(self._rooms) if not wanted or n in wanted]

    def delete_room(self, name: str) -> None:
        if name not in self._rooms:
            raise _room_not_found()
        del self._rooms[name]
        for p in self._participants.pop(name, {}).values():
            self._notify(ParticipantRemoved(name, p, "room_deleted"))

    def _room_view(self, name: str) -> models.Room:
        room = _copy(self._rooms[name])
        room.num_participants = len(self._participants[name])
        return room

    # -- participants ---------------------------------------------------------------------

    def add_participant(
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
        """Join `identity` to `room` (created if needed); a rejoin replaces the old session."""
        self.ensure_room(room)
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
        self._participants[room][identity] = p
        return _copy(p)

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
        self._notify(ParticipantRemoved(room, p, "removed"))

    def participant_left(self, room: str, identity: str) -> None:
        """The bridge's own removal (caller hung up): no listener is called back."""
        self._participants.get(room, {}).pop(identity, None)

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

    def set_state(self, room: str, identity: str, state: int) -> models.ParticipantInfo:
        p = self._find(room, identity)
        p.state = state
        p.version += 1
        return _copy(p)

    def set_attributes(self, room: str, identity: str, attributes: Mapping[str, str]) -> models.ParticipantInfo:
        """Merge `attributes` (empty value deletes), as the bridge does for `sip.callStatus`."""
        p = self._find(room, identity)
        _merge_attributes(p, attributes)
        p.version += 1
        return _copy(p)


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
