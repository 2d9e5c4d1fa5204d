"""The bridge's ports in memory: a control plane with no storage, no HTTP and no rooms service.

The conformance runner drives the bridge's call logic against it, and tests use it to show
that the bridge needs nothing but its ports. What the bridge did is observable here: who
joined which room with which attributes, who left, and each inbound call's reports.

`MemoryControlPlane().ports` is what `Bridge(...)` takes; the parts are usable alone.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Callable, Mapping

from google.protobuf.message import Message
from livekit.protocol import sip as sip_pb

from sipconf.bridge.ports import (
    CallControl, CallPhase, CallReport, ControlPlanePorts, ParticipantJoin, ParticipantRemoved, TrunksAndRules,
)
from sipconf.routing.errors import NOT_FOUND, UNAVAILABLE, LiveKitError

__all__ = ["MemoryCallReports", "MemoryCallRequests", "MemoryControlPlane", "MemoryDirectory",
           "MemoryParticipant", "MemoryParticipants"]

_KINDS = {
    sip_pb.SIPInboundTrunkInfo: "inbound",
    sip_pb.SIPOutboundTrunkInfo: "outbound",
    sip_pb.SIPTrunkInfo: "legacy",
    sip_pb.SIPDispatchRuleInfo: "rules",
}


class MemoryDirectory:
    """`TrunkDirectory`: objects put here are what the bridge routes with from the next call on."""

    def __init__(self) -> None:
        self._contents = TrunksAndRules()
        self._version = 0

    def version(self) -> int:
        return self._version

    def current(self) -> TrunksAndRules:
        return self._contents

    def put(self, *objects: Message) -> None:
        """Add trunks (inbound, outbound, legacy) and dispatch rules, replacing any with the same id."""
        kinds = {name: list(getattr(self._contents, name)) for name in _KINDS.values()}
        for obj in objects:
            name = _KINDS.get(type(obj))
            if name is None:
                raise TypeError(f"a trunk directory holds trunks and dispatch rules, not {type(obj).__name__}")
            key = _id_of(obj)
            kinds[name] = [x for x in kinds[name] if _id_of(x) != key] + [obj]
        self._contents = TrunksAndRules(**{name: tuple(items) for name, items in kinds.items()})
        self._version += 1


def _id_of(obj: Message) -> str:
    return obj.sip_dispatch_rule_id if isinstance(obj, sip_pb.SIPDispatchRuleInfo) else obj.sip_trunk_id


@dataclass
class MemoryParticipant:
    sid: str
    room: str
    identity: str
    name: str
    metadata: str
    attributes: dict[str, str]


class MemoryParticipants:
    """`ParticipantSink`: live participants by (room, identity), plus what happened, in order
    (`("join" | "update" | "leave" | "removed", room, identity)`)."""

    def __init__(self) -> None:
        self.live: dict[tuple[str, str], MemoryParticipant] = {}
        self.history: list[tuple[str, str, str]] = []
        self._listeners: list[Callable[[ParticipantRemoved], None]] = []
        self._sids = itertools.count(1)

    def join(self, joining: ParticipantJoin) -> str:
        sid = f"PA_memory{next(self._sids):06d}"
        self.live[(joining.room, joining.identity)] = MemoryParticipant(
            sid, joining.room, joining.identity, joining.name, joining.metadata, dict(joining.attributes))
        self.history.append(("join", joining.room, joining.identity))
        return sid

    def update_attributes(self, room: str, identity: str, changes: Mapping[str, str]) -> bool:
        participant = self.live.get((room, identity))
        if participant is None:
            return False
        for key, value in changes.items():
            if value:
                participant.attributes[key] = value
            else:
                participant.attributes.pop(key, None)
        self.history.append(("update", room, identity))
        return True

    def leave(self, room: str, identity: str) -> None:
        if self.live.pop((room, identity), None) is not None:
            self.history.append(("leave", room, identity))

    def on_removed(self, listener: Callable[[ParticipantRemoved], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def remove(self, room: str, identity: str, reason: str = "removed") -> None:
        """What RemoveParticipant does: the participant goes and every listener is told."""
        if self.live.pop((room, identity), None) is None:
            raise LiveKitError(NOT_FOUND, "participant does not exist")
        self.history.append(("removed", room, identity))
        for listener in list(self._listeners):
            listener(ParticipantRemoved(room, identity, reason))


class MemoryCallRequests:
    """`CallRequests`: hands CreateSIPParticipant / TransferSIPParticipant to whoever serves."""

    def __init__(self) -> None:
        self.control: CallControl | None = None

    def serve(self, control: CallControl) -> Callable[[], None]:
        self.control = control

        def stop() -> None:
            if self.control is control:
                self.control = None

        return stop

    def _served(self) -> CallControl:
        if self.control is None:
            raise LiveKitError(UNAVAILABLE, "no SIP bridge serves this control plane")
        return self.control

    async def create_sip_participant(self, req: sip_pb.CreateSIPParticipantRequest) -> sip_pb.SIPParticipantInfo:
        return await self._served().create_sip_participant(req)

    async def transfer_sip_participant(self, req: sip_pb.TransferSIPParticipantRequest) -> None:
        await self._served().transfer_sip_participant(req)


class MemoryCallReports:
    """`CallReports`: every report, in order; `wait_settled(n)` until n INVITEs were settled."""

    def __init__(self) -> None:
        self.reports: list[CallReport] = []
        self._changed = asyncio.Event()

    def report(self, report: CallReport) -> None:
        self.reports.append(report)
        self._changed.set()

    def settled(self) -> list[CallReport]:
        return [r for r in self.reports if r.phase is CallPhase.SETTLED]

    async def wait_settled(self, count: int) -> list[CallReport]:
        """The first `count` settled reports, once there are that many."""
        while len(self.settled()) < count:
            self._changed.clear()
            await self._changed.wait()
        return self.settled()[:count]


@dataclass
class MemoryControlPlane:
    directory: MemoryDirectory = field(default_factory=MemoryDirectory)
    participants: MemoryParticipants = field(default_factory=MemoryParticipants)
    calls: MemoryCallRequests = field(default_factory=MemoryCallRequests)
    reports: MemoryCallReports = field(default_factory=MemoryCallReports)

    @property
    def ports(self) -> ControlPlanePorts:
        return ControlPlanePorts(self.directory, self.participants, self.calls, self.reports)
