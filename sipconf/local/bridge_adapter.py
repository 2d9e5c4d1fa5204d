"""The embedded control plane as the SIP bridge sees it: the bridge's ports, implemented over
the SQLite store, the live rooms and the SIP service's call backend.

`bridge_ports(control_plane)` is all `sipconf up` (and a test) needs to wire the two:
`Bridge(bridge_ports(cp), ...)`. The embedded control plane keeps no call records, so it
leaves the optional call reports port out.
"""

from __future__ import annotations

from typing import Callable, Hashable, Mapping

from livekit.protocol import models

from sipconf.bridge import ports
from sipconf.local import store as st
from sipconf.local.rooms import ParticipantRemoved, Rooms
from sipconf.local.server import ControlPlane
from sipconf.routing.errors import NOT_FOUND, LiveKitError

__all__ = ["CallBackendSlot", "RoomsSink", "StoreDirectory", "bridge_ports"]


class StoreDirectory:
    """`TrunkDirectory` over the control plane's store, looked up per read: the store exists
    only while the control plane runs. A call worker of `sipconf up --workers` reads its own
    connection to the state file instead (`StoreDirectory.of(store)`)."""

    def __init__(self, control_plane: ControlPlane | None, store: st.StateStore | None = None) -> None:
        self._control_plane = control_plane
        self._own = store

    @classmethod
    def of(cls, store: st.StateStore) -> "StoreDirectory":
        return cls(None, store)

    def _store(self) -> st.StateStore:
        store = self._own if self._control_plane is None else self._control_plane.store
        if store is None:
            raise RuntimeError("the control plane is not running, so its trunks and rules cannot be read")
        return store

    def version(self) -> Hashable | None:
        store = self._store()
        version = store.version()
        # The store object is part of the version: a restarted control plane opens a new one.
        return None if version is None else (store, version)

    def current(self) -> ports.TrunksAndRules:
        store = self._store()
        return ports.TrunksAndRules(
            inbound=tuple(store.all(st.INBOUND)),
            outbound=tuple(store.all(st.OUTBOUND)),
            legacy=tuple(store.all(st.LEGACY)),
            rules=tuple(store.all(st.RULE)),
        )


class RoomsSink:
    """`ParticipantSink` over the live rooms that RoomService serves."""

    def __init__(self, rooms: Rooms) -> None:
        self._rooms = rooms

    def join(self, joining: ports.ParticipantJoin) -> str:
        return self._rooms.join(
            joining.room, joining.identity, name=joining.name, kind=models.ParticipantInfo.Kind.SIP,
            metadata=joining.metadata, attributes=joining.attributes)

    def update_attributes(self, room: str, identity: str, changes: Mapping[str, str]) -> bool:
        try:
            self._rooms.merge_attributes(room, identity, changes)
        except LiveKitError as err:
            if err.code != NOT_FOUND:
                raise
            return False
        return True

    def leave(self, room: str, identity: str) -> None:
        self._rooms.participant_left(room, identity)

    def on_removed(self, listener: Callable[[ports.ParticipantRemoved], None]) -> Callable[[], None]:
        def forward(event: ParticipantRemoved) -> None:
            listener(ports.ParticipantRemoved(event.room, event.participant.identity, event.reason))

        return self._rooms.add_listener(forward)


class CallBackendSlot:
    """`CallRequests`: the bridge becomes the control plane's call backend while it serves."""

    def __init__(self, control_plane: ControlPlane) -> None:
        self._control_plane = control_plane

    def serve(self, control: ports.CallControl) -> Callable[[], None]:
        self._control_plane.backend = control

        def stop() -> None:
            if self._control_plane.backend is control:
                self._control_plane.backend = None  # CreateSIPParticipant is `unavailable` again

        return stop


def bridge_ports(control_plane: ControlPlane) -> ports.ControlPlanePorts:
    """The ports of `control_plane`, started or not yet."""
    return ports.ControlPlanePorts(
        directory=StoreDirectory(control_plane),
        participants=RoomsSink(control_plane.rooms),
        calls=CallBackendSlot(control_plane),
    )
