"""Nothing grows without bound: after calls end every table of the bridge is empty again,
the transaction tables and the replay cache have a size cap and an expiry on the injected
clock, and a request the bridge drops on purpose leaves no transaction behind."""

from __future__ import annotations

import asyncio

from livekit.protocol import room as room_pb
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge import media
from sipconf.bridge.calls.replay import ReplayCache
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.transaction import T1, T4, UNANSWERED, ServerState, TransactionManager
from sipconf.sip.message import Request, make_response, parse

from .hostile_helpers import GUARD, call_completes, routed_bridge

LINGER = 64 * T1 + T4  # past Timers H, I, J, K, L and M


def test_after_many_calls_every_table_of_the_bridge_is_empty_again(tmp_path):
    async def main():
        async with routed_bridge(tmp_path) as (bridge, lk, clock):
            for transport in ("udp", "tcp") * 4:
                await call_completes(bridge, lk, transport)
            async with Agent() as peer:
                target = bridge.udp_address
                for n in range(3):  # rejected: no trunk for the number (cached, docs/livekit.md#replay-cache)
                    invite = peer.invite(target, "+15550111", "+15550999")
                    peer.send(invite, target)
                    final = await peer.final_to(invite, GUARD)
                    assert final.status == 404
                    peer.send(peer.ack_for(invite, final), target)
                for n in range(3):  # answered, then hung up by the bridge
                    invite = peer.invite(target, "+15550111", "+15550100")
                    peer.send(invite, target)
                    ok = await peer.final_to(invite, GUARD)
                    peer.send(peer.ack_for(invite, ok), target)
                    await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="support",
                                                                                     identity="sip_+15550111"))
                    bye, addr = await peer.request("BYE", GUARD, start=len(peer.messages) - 1)
                    peer.send(peer.response(bye, 200), addr)
            async with Agent() as callee:
                callee.answer()
                trunk = await lk.sip.create_outbound_trunk(sip_pb.CreateSIPOutboundTrunkRequest(
                    trunk=sip_pb.SIPOutboundTrunkInfo(name="out", address=f"{callee.host}:{callee.port}",
                                                      numbers=["+15550003333"])))
                for n in range(3):  # outbound, answered, then removed through the API (BYE from the bridge)
                    await lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
                        sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550004444", room_name="out",
                        participant_identity=f"callee{n}", wait_until_answered=True))
                    ended = len([m for m in callee.callee.methods if m == "BYE"])
                    await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="out",
                                                                                     identity=f"callee{n}"))
                    while len([m for m in callee.callee.methods if m == "BYE"]) == ended:
                        await asyncio.sleep(0)
            while bridge._tasks or bridge.sip.connections:  # BYE tasks finish, TCP peers' connections close
                await asyncio.sleep(0)
            clock.advance(LINGER)
            assert (bridge.dialogs, bridge.participants, bridge.pending, bridge._bound) == ({}, {}, {}, {})
            assert bridge.outbound.by_call_id == {}
            assert (bridge.tm.server, bridge.tm.client, bridge.tm._accepted) == ({}, {}, {})
            assert len(bridge.tm.lingering) == 0
            assert bridge.sip.connections == set() and bridge.sip._per_source == {} and bridge.sip._outbound == {}
            assert media._pacer(clock).sessions == {}
            assert len(bridge.config.replay) == 3  # one entry per rejected Call-ID, for a minute
            clock.advance(60)
            bridge.config.replay.put("later", "tag", 404, "No trunk found")
            assert len(bridge.config.replay) == 1  # the expired entries left when the next one came

    asyncio.run(asyncio.wait_for(main(), 60))


def request(method: str, branch: str, call_id: str = "c1") -> Request:
    return parse((f"{method} sip:bridge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch}\r\n"
                  f"From: <sip:a@127.0.0.1>;tag=f\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: {call_id}\r\n"
                  f"CSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n").encode())


def test_a_full_server_table_ends_lingering_transactions_first_then_the_oldest():
    clock = ManualClock()
    manager = TransactionManager(clock, max_server=4)
    sent: list = []
    invites = []
    for n in range(2):  # two calls ringing: 100 sent, at work for their TU
        delivery = manager.receive_request(request("INVITE", f"i{n}", f"call{n}"), sent.append, False)
        invites.append(delivery.transaction)
    for n in range(10):  # a flood of INVITEs answered 486: each lingers in Completed until its ACK (Timer G, H)
        delivery = manager.receive_request(request("INVITE", f"o{n}", f"busy{n}"), sent.append, False)
        delivery.transaction.respond(make_response(delivery.request, 486, "Busy Here", to_tag="t"))
    assert len(manager.server) == 4 and manager.evicted == 8
    assert all(tx in manager.server.values() for tx in invites)  # the calls kept theirs
    for n in range(3):  # requests left at work: the last two lingering ones make room, then the oldest goes
        manager.receive_request(request("OPTIONS", f"w{n}"), sent.append, False)
    assert len(manager.server) == 4 and manager.evicted == 11
    assert invites[0].terminated and not invites[1].terminated
    assert sorted(tx.request.top_via.branch for tx in manager.server.values()) == [
        "z9hG4bKi1", "z9hG4bKw0", "z9hG4bKw1", "z9hG4bKw2"]


def test_a_full_client_table_refuses_a_new_request_while_all_are_at_work():
    clock = ManualClock()
    manager = TransactionManager(clock, max_client=2)
    for n in range(2):
        manager.send_request(request("OPTIONS", f"c{n}"), lambda message: None, False, lambda response: None)
    try:
        manager.send_request(request("OPTIONS", "c2"), lambda message: None, False, lambda response: None)
    except ValueError as err:
        assert str(err) == "2 client transactions in progress: no room for another"
    else:
        raise AssertionError("a third client transaction was accepted")
    first = next(iter(manager.client.values()))
    first.receive(make_response(first.request, 200, "OK"))  # Completed: lingers for Timer K
    manager.send_request(request("OPTIONS", "c3"), lambda message: None, False, lambda response: None)
    assert len(manager.client) == 2 and first.terminated


def test_a_request_never_answered_is_forgotten_and_its_retransmissions_absorbed_meanwhile():
    clock = ManualClock()
    manager = TransactionManager(clock)
    sent: list = []
    invite = request("INVITE", "dropped")
    delivery = manager.receive_request(invite, sent.append, False, send_trying=False)
    options = manager.receive_request(request("OPTIONS", "dropped2"), sent.append, False)
    ringing = manager.receive_request(request("INVITE", "ringing", "call2"), sent.append, False, send_trying=False)
    for second in range(2 * int(UNANSWERED)):  # the ringing call sends 180 every second (docs/livekit.md#dispatch-outcomes)
        ringing.transaction.respond(make_response(ringing.request, 180, "Ringing", to_tag="t"))
        if second == 16:
            assert manager.receive_request(invite, sent.append, False) is None  # a retransmission: absorbed
        clock.advance(1)
    assert delivery.transaction.terminated and options.transaction.terminated
    assert list(manager.server.values()) == [ringing.transaction]
    assert ringing.transaction.state is ServerState.PROCEEDING
    assert [m.status for m in sent] == [180] * 2 * int(UNANSWERED)


def test_an_invite_the_bridge_drops_leaves_no_transaction_behind(tmp_path):
    """hide_inbound_port: an INVITE without a From tag gets no answer at all."""
    async def main():
        async with routed_bridge(tmp_path, hide_inbound_port=True) as (bridge, lk, clock):
            async with Agent() as peer:
                invite = peer.invite(bridge.udp_address, "+15550111", "+15550100")
                invite.headers = [(n, "<sip:+15550111@127.0.0.1>" if n == "From" else v) for n, v in invite.headers]
                peer.send(invite, bridge.udp_address)
                while not bridge.tm.server:
                    await asyncio.sleep(0)
                clock.advance(UNANSWERED)
                assert bridge.tm.server == {}
                assert peer.responses_to(invite) == []
            await call_completes(bridge, lk, "udp")

    asyncio.run(asyncio.wait_for(main(), 30))


def test_the_replay_cache_holds_at_most_its_capacity_and_forgets_on_its_clock():
    clock = ManualClock()
    cache = ReplayCache(clock, ttl=60, capacity=3)
    for n in range(5):
        cache.put(f"call{n}" * 10_000, "tag", 404, "No trunk found")  # long Call-IDs: the key stays small
        clock.advance(10)
    assert len(cache) == 3 and cache.get("call0" * 10_000, "tag") is None
    assert cache.get("call4" * 10_000, "tag") == (404, "No trunk found")
    clock.advance(55)  # call4 was put 65 s ago, call2 and call3 earlier
    cache.put("fresh", "tag", 486, "Busy Here")
    assert len(cache) == 1
