"""An INVITE LiveKit drops (no final response) is not remembered forever: its transaction
absorbs retransmissions for 64*T1, as after a final response, then goes. Real bridge and
control plane on 127.0.0.1, the spec applied with the real `livekit-api` client, callers from
`sipconf.agent`; timers run on a ManualClock. `SIPCONF_SOAK=1` (`make soak`) drops 2,000
INVITEs instead of 20."""

from __future__ import annotations

import asyncio
import os

from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.bridge.transaction import T1
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

from .test_calls_inbound import KEY, SECRET

DROPPED = 2000 if os.environ.get("SIPCONF_SOAK") == "1" else 20


def run(scenario, tmp_path, **bridge_kwargs) -> None:
    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp, Agent() as peer:
            async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                # A trunk and no dispatch rule: in LiveKit's open-source mode every call is dropped.
                await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(
                    trunk=sip_pb.SIPInboundTrunkInfo(name="open", numbers=["+15550100"])))
            async with Bridge(bridge_ports(cp), mode="oss", clock=ManualClock(), **bridge_kwargs) as bridge:
                await asyncio.wait_for(scenario(bridge, peer), 30 + DROPPED / 50)

    asyncio.run(main())


async def send_in_batches(bridge, peer, invites, answered: bool, batch: int = 20) -> None:
    """Send `invites` a batch at a time (a burst of thousands would overflow a socket buffer),
    each batch once the bridge dropped the one before and, when it `answered` (100 and 180),
    those answers reached the caller."""
    ringing = 0
    for start in range(0, len(invites), batch):
        for invite in invites[start:start + batch]:
            peer.send(invite, bridge.udp_address)
        settled = start + len(invites[start:start + batch])
        while bridge.metrics.calls.get(("inbound", "none"), 0) < settled or bridge.pending or ringing < settled:
            await asyncio.sleep(0.005)
            if answered:
                ringing = sum(1 for m, _ in peer.messages if getattr(m, "status", 0) == 180)
            else:
                ringing = settled


def test_dropped_invites_absorb_retransmissions_then_leave_no_transaction(tmp_path):
    async def scenario(bridge, peer):
        target = bridge.udp_address
        invites = [peer.invite(target, "+15550111", "+15550100") for _ in range(DROPPED)]
        await send_in_batches(bridge, peer, invites, answered=True)
        ringing = {m.call_id for m, _ in peer.messages if getattr(m, "status", 0) == 180}
        assert ringing == {invite.call_id for invite in invites}  # 100, 180, then nothing: dropped
        assert bridge.metrics.calls == {("inbound", "none"): DROPPED}
        mark = len(peer.messages)
        peer.send(invites[0], target)  # a retransmission: absorbed, no second call
        await peer.wait_for(lambda m: getattr(m, "status", 0) == 180, start=mark)
        assert bridge.metrics.calls == {("inbound", "none"): DROPPED}
        assert len(bridge.tm.server) == DROPPED
        bridge.clock.advance(64 * T1)
        assert bridge.tm.server == {}
        assert all(response.status < 200 for response, _ in peer.messages)

    run(scenario, tmp_path)


def test_invalid_invites_unanswered_behind_hide_inbound_port_leave_no_transaction(tmp_path):
    async def scenario(bridge, peer):
        target = bridge.udp_address
        invites = [peer.invite(target, "+15550111", "+15550100") for _ in range(DROPPED)]
        for invite in invites:  # no From tag: not a valid INVITE
            invite.headers = [(name, value.split(";tag=")[0] if name == "From" else value)
                              for name, value in invite.headers]
        await send_in_batches(bridge, peer, invites, answered=False)
        assert len(bridge.tm.server) == DROPPED
        bridge.clock.advance(64 * T1)
        assert bridge.tm.server == {}
        assert peer.messages == []  # hide_inbound_port: not a byte back

    run(scenario, tmp_path, hide_inbound_port=True)


def test_an_unanswered_invite_transaction_ends_after_64_t1_unless_the_tu_answered_after_all():
    from sipconf.bridge.transaction import InviteServerTransaction, ServerState, TransactionManager
    from sipconf.sip.message import make_response

    from .test_transaction import Wire, request

    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    dropped = manager.receive_request(request(branch="z9hG4bKdropped"), wire, False).transaction
    assert isinstance(dropped, InviteServerTransaction)
    clock.advance(10)
    manager.receive_request(request(branch="z9hG4bKdropped"), wire, False)  # absorbed: 100 again
    assert dropped.state is ServerState.PROCEEDING and wire.statuses() == [100, 100]
    clock.advance(64 * T1)  # nothing sent for 64*T1 since that 100
    assert dropped.state is ServerState.TERMINATED and manager.server == {}

    answered = InviteServerTransaction(request(branch="z9hG4bKlate"), wire, False, clock)
    clock.advance(1)
    answered.respond(make_response(answered.request, 486, "Busy Here", to_tag="t"))
    clock.advance(64 * T1 - 0.5)  # 64*T1 since the INVITE, but Timer H runs from the 486
    assert answered.state is ServerState.COMPLETED
    clock.advance(0.5)
    assert answered.state is ServerState.TERMINATED
