"""The outbound media timeout (docs/livekit.md#media-merge and #outbound-request) on a ManualClock:
the merged (trunk, request) `media.media_timeout`, else LiveKit's 30 s before the first RTP
packet."""

from __future__ import annotations

import asyncio

from google.protobuf.duration_pb2 import Duration
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.sip.message import Request
from sipconf.bridge.server import Bridge
from sipconf.conformance.memory_ports import MemoryControlPlane

ROOM, IDENTITY = "out", "callee"


def media(seconds: int | None) -> dict:
    return {} if seconds is None else {"media": sip_pb.SIPMediaConfig(media_timeout=Duration(seconds=seconds))}


def byes(peer: Agent) -> list[Request]:
    return [m for m, _ in peer.messages if isinstance(m, Request) and m.method == "BYE"]


def hangs_up_between(trunk_timeout, request_timeout, alive_at: float, gone_at: float) -> None:
    async def main():
        clock = ManualClock()
        control_plane = MemoryControlPlane()
        async with Bridge(control_plane.ports, clock=clock) as bridge, Agent() as peer:
            control_plane.directory.put(sip_pb.SIPOutboundTrunkInfo(
                sip_trunk_id="ST_mediatimeout1", name="t", address=f"{peer.host}:{peer.port}",
                numbers=["+15550003333"], **media(trunk_timeout)))
            req = sip_pb.CreateSIPParticipantRequest(
                sip_trunk_id="ST_mediatimeout1", sip_call_to="+15550004444", room_name=ROOM,
                participant_identity=IDENTITY, wait_until_answered=True, **media(request_timeout))
            created = asyncio.ensure_future(control_plane.calls.create_sip_participant(req))
            invite, addr = await peer.request("INVITE")
            ok = peer.response(invite, 200, tag="peer", headers=[("Contact", peer.contact)], body=peer.offer())
            peer.send(ok, addr)
            await created
            assert list(control_plane.participants.live) == [(ROOM, IDENTITY)]
            clock.advance(alive_at)
            await asyncio.sleep(0.05)
            assert byes(peer) == [], f"hung up before {alive_at}s"
            assert list(control_plane.participants.live) == [(ROOM, IDENTITY)]
            clock.advance(gone_at - alive_at)
            bye, _ = await peer.request("BYE")
            assert bye.call_id == invite.call_id
            assert control_plane.participants.live == {}

    asyncio.run(main())


def test_default_initial_media_timeout_is_30s():
    hangs_up_between(None, None, alive_at=29.5, gone_at=30.0)


def test_trunk_media_timeout_applies():
    hangs_up_between(6, None, alive_at=5.5, gone_at=6.0)


def test_request_media_timeout_overrides_trunk():
    hangs_up_between(40, 8, alive_at=7.5, gone_at=8.0)
