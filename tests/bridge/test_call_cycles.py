"""A finished call leaves no reference cycle behind: its objects (the call, its task, its
transaction, its messages, its RTP session, the UDP source of each datagram) are freed as the
last reference goes, not by a pass of the cyclic collector. Under load the collector's passes
over whole calls cost about a tenth of the bridge's time and stopped it for up to 175 ms at a
time (bench/RESULTS.md); this keeps the calls out of its way.

Real bridge and control plane on 127.0.0.1, the real `livekit-api` client."""

from __future__ import annotations

import asyncio
import collections
import gc

from livekit.protocol import room as room_pb

from sipconf.bridge.dialog import Dialog

from tests.bridge.test_calls_inbound import call, direct_rule, open_trunk, run


def _sipconf_garbage() -> dict[str, int]:
    """Objects of sipconf's own classes that only the cyclic collector would free, by class."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
    finally:
        gc.set_debug(0)
    found = collections.Counter(type(o).__qualname__ for o in gc.garbage
                                if (type(o).__module__ or "").startswith("sipconf."))
    gc.garbage.clear()
    return dict(found)


async def _calls_ending_every_way(bridge, lk, peer) -> None:
    target = bridge.udp_address
    for n in range(3):  # answered, then hung up by the caller
        invite, ok = await call(bridge, peer, from_user=f"+1555011{n}")
        assert ok.status == 200
        bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
        peer.send(bye, target)
        assert (await peer.final_to(bye)).status == 200
    # answered, then hung up by the room: RemoveParticipant makes the bridge send BYE
    await call(bridge, peer, from_user="+15550120")
    await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="support", identity="sip_+15550120"))
    bye, addr = await peer.request("BYE")
    peer.send(peer.response(bye, 200), addr)
    # refused: no trunk has the number dialled
    invite = peer.invite(target, "+15550130", "+15550199")
    peer.send(invite, target)
    assert (await peer.final_to(invite)).status == 404
    for _ in range(20):  # the calls' tasks wind down
        await asyncio.sleep(0.01)


def test_calls_answered_hung_up_and_refused_leave_no_cycles(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        invite, ok = await call(bridge, peer, from_user="+15550109")  # warm: caches and the index built
        bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
        peer.send(bye, bridge.udp_address)
        assert (await peer.final_to(bye)).status == 200
        gc.collect()
        gc.disable()
        try:
            await _calls_ending_every_way(bridge, lk, peer)
            garbage = _sipconf_garbage()
        finally:
            gc.enable()
        assert garbage == {}

    asyncio.run(run(scenario)(tmp_path / "s.db"))


def test_the_census_sees_a_cycle():
    """The check above can fail: a sipconf object in a cycle is found."""
    from sipconf.bridge.clock import ManualClock
    from sipconf.bridge.media import RtpSession

    clock = ManualClock()
    gc.collect()
    gc.disable()
    try:
        session = RtpSession(clock)
        session.on_digit = lambda digit, session=session: None  # the session holds itself
        del session
        garbage = _sipconf_garbage()
    finally:
        gc.enable()
    assert garbage == {"RtpSession": 1}
