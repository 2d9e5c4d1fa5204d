"""`livekit.RoomService` subset the bridge and the simulator need (docs/livekit.md#room-service).

Grants as server pkg/service/roomservice.go checks them: roomCreate for Create/DeleteRoom,
roomList for ListRooms, roomAdmin on the request's room for participant calls.
"""

from __future__ import annotations

from typing import Callable

from google.protobuf.message import Message
from livekit.protocol import room as room_pb

from sipconf.local import auth
from sipconf.local.auth import Claims
from sipconf.local.rooms import Rooms


class RoomService:
    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms

    def handlers(self) -> dict[str, Callable]:
        return {
            "CreateRoom": self.create_room,
            "ListRooms": self.list_rooms,
            "DeleteRoom": self.delete_room,
            "ListParticipants": self.list_participants,
            "GetParticipant": self.get_participant,
            "RemoveParticipant": self.remove_participant,
            "UpdateParticipant": self.update_participant,
        }

    async def create_room(self, req: room_pb.CreateRoomRequest, claims: Claims) -> Message:
        auth.require_room_create(claims)
        return self.rooms.create_room(req)

    async def list_rooms(self, req: room_pb.ListRoomsRequest, claims: Claims) -> Message:
        auth.require_room_list(claims)
        return room_pb.ListRoomsResponse(rooms=self.rooms.list_rooms(req.names))

    async def delete_room(self, req: room_pb.DeleteRoomRequest, claims: Claims) -> Message:
        auth.require_room_create(claims)
        self.rooms.delete_room(req.room)
        return room_pb.DeleteRoomResponse()

    async def list_participants(self, req: room_pb.ListParticipantsRequest, claims: Claims) -> Message:
        auth.require_room_admin(claims, req.room)
        return room_pb.ListParticipantsResponse(participants=self.rooms.list_participants(req.room))

    async def get_participant(self, req: room_pb.RoomParticipantIdentity, claims: Claims) -> Message:
        auth.require_room_admin(claims, req.room)
        return self.rooms.get_participant(req.room, req.identity)

    async def remove_participant(self, req: room_pb.RoomParticipantIdentity, claims: Claims) -> Message:
        auth.require_room_admin(claims, req.room)
        self.rooms.remove_participant(req.room, req.identity)
        return room_pb.RemoveParticipantResponse()

    async def update_participant(self, req: room_pb.UpdateParticipantRequest, claims: Claims) -> Message:
        auth.require_room_admin(claims, req.room)
        return self.rooms.update_participant(req)
