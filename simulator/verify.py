"""Reading results back through the `livekit-api` client, never the bridge's internals.

RoomService (ListRooms, ListParticipants) says where a call landed and with which identity
and attributes; the SIP lists map the `sip.trunkID`/`sip.ruleID` attributes back to spec
names. The same code reads a remote LiveKit with `--url`.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from livekit import api
from livekit.protocol import models

from simulator.drivers.base import Target
from simulator.result import CallResult

POLL = 0.05  # seconds between API polls while waiting for a participant


class LiveView:
    """`async with LiveView(target) as lv:` -- the API client plus id -> spec-name maps."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.lk: api.LiveKitAPI | None = None
        self._names: dict[str, str] | None = None
        self.trunk_ids: dict[str, str] = {}  # outbound trunk spec name -> live id

    async def __aenter__(self) -> "LiveView":
        self.lk = api.LiveKitAPI(self.target.url, self.target.api_key, self.target.api_secret)
        return self

    async def __aexit__(self, *exc) -> None:
        if self.lk is not None:
            await self.lk.aclose()

    async def names(self) -> dict[str, str]:
        """Live id -> object name (sipconf names live objects after their spec names)."""
        if self._names is None:
            sip = self.lk.sip
            inbound = await sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
            outbound = await sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
            rules = await sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
            names = {t.sip_trunk_id: t.name for t in inbound.items}
            names.update({t.sip_trunk_id: t.name for t in outbound.items})
            names.update({r.sip_dispatch_rule_id: r.name for r in rules.items})
            self.trunk_ids = {t.name: t.sip_trunk_id for t in outbound.items}
            self._names = names
        return self._names

    async def outbound_trunk_id(self, name: str) -> str | None:
        await self.names()
        return self.trunk_ids.get(name)

    async def find(self, match: Callable[[str, models.ParticipantInfo], bool]) -> tuple[str, models.ParticipantInfo] | None:
        rooms = await self.lk.room.list_rooms(api.ListRoomsRequest())
        for room in rooms.rooms:
            got = await self.lk.room.list_participants(api.ListParticipantsRequest(room=room.name))
            for p in got.participants:
                if match(room.name, p):
                    return room.name, p
        return None

    async def wait_for(self, match, timeout: float) -> tuple[str, models.ParticipantInfo] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self.find(match)
            if found is not None or loop.time() >= deadline:
                return found
            await asyncio.sleep(POLL)

    async def record(self, result: CallResult, room: str, p: models.ParticipantInfo) -> None:
        """Copy what the API says about the participant into `result`."""
        names = await self.names()
        result.joined = True
        result.room = room
        result.identity = p.identity
        result.name = p.name
        result.attributes = dict(p.attributes)
        trunk_id, rule_id = p.attributes.get("sip.trunkID", ""), p.attributes.get("sip.ruleID", "")
        if trunk_id:
            result.trunk = names.get(trunk_id, trunk_id)
        if rule_id:
            result.rule = names.get(rule_id, rule_id)


def by_call_id(call_id: str):
    """Match the participant of an inbound call by its SIP Call-ID (`sip.callIDFull`)."""
    return lambda room, p: p.attributes.get("sip.callIDFull") == call_id


def by_identity(room_name: str, identity: str):
    return lambda room, p: room == room_name and p.identity == identity
