"""`sipconf up --workers 2`: calls split over the main process and a call worker by Call-ID,
tested from outside as a user would: the real `sipconf up` process, the real `livekit-api`
client over HTTP, a SIP peer on 127.0.0.1 (and SIPp), `/readyz` and `/metrics`.

Each test picks Call-IDs for a shard with `sipconf.bridge.shards.owns`, so that it knows which
process holds each call; what it checks is only what a caller and the API see."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
import time

import pytest
from livekit import api
from livekit.protocol import room as room_pb, sip as sip_pb

from bench.soak import call_workers
from sipconf.agent import Agent
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.shards import owns
from sipconf.sip.digest import answer_challenge
from tests.local.test_health import get, samples
from tests.local.up_process import start_up

CALLED = "+15550100"
USER, PASSWORD = "acme", "s3cret"


def call_id_on(shard: int, shards: int = 2) -> str:
    """A new Call-ID that the front hands to `shard`."""
    while True:
        call_id = secrets.token_hex(10)
        if owns(call_id, shard, shards):
            return call_id


async def until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def metrics_reach(up, wanted: dict[str, float]) -> bool:
    """Whether every sample named in `wanted` has its value in `/metrics` (which adds up every
    process's counters; a worker's reach it a moment later)."""

    async def reached():
        _, text = await get(up.url + "/metrics")
        found = samples(text)
        return all(found.get(name) == value for name, value in wanted.items())

    return await until(reached)


async def routed(lk, auth: bool = False) -> None:
    trunk = sip_pb.SIPInboundTrunkInfo(name="carrier", numbers=[CALLED])
    if auth:
        trunk.auth_username, trunk.auth_password = USER, PASSWORD
    await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(trunk=trunk))
    rule = sip_pb.SIPDispatchRule(dispatch_rule_individual=sip_pb.SIPDispatchRuleIndividual(room_prefix="call"))
    await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(rule=rule))


async def present(lk) -> dict[str, str]:
    """identity -> room of every participant."""
    out = {}
    for room in (await lk.room.list_rooms(room_pb.ListRoomsRequest())).rooms:
        found = await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room.name))
        out.update({p.identity: room.name for p in found.participants})
    return out


class Calls:
    """Answered calls from one peer, each from its own caller number."""

    numbers = itertools.count(200)

    def __init__(self, peer: Agent, target) -> None:
        self.peer, self.target = peer, target

    async def answered(self, shard: int):
        caller = f"+1555010{next(self.numbers)}"
        invite = self.peer.invite(self.target, caller, CALLED, call_id=call_id_on(shard))
        self.peer.send(invite, self.target)
        ok = await self.peer.final_to(invite, timeout=10)
        assert ok.status == 200, (ok.status, ok.reason)
        self.peer.send(self.peer.ack_for(invite, ok), self.target)
        return invite, ok, caller

    async def hang_up(self, invite, ok) -> int:
        bye = Dialog.from_uac(invite, ok).create_request("BYE", self.peer.via)
        self.peer.send(bye, self.target)
        return (await self.peer.final_to(bye, timeout=10)).status


def with_workers(tmp_path, scenario, *extra: str, auth: bool = False, timeout: float = 60) -> None:
    up = start_up(tmp_path / "s.db", "--workers", "2", *extra)
    try:
        assert any("calls over 2 processes" in line for line in up.lines)

        async def main():
            async with api.LiveKitAPI(*up.credentials) as lk, Agent() as peer:
                await routed(lk, auth)
                await asyncio.wait_for(scenario(up, lk, peer, Calls(peer, up.sip_target)), timeout)

        asyncio.run(main())
        _out, err = up.stop()
        assert up.proc.returncode == 0, err
        assert "Traceback" not in err, err
    finally:
        up.kill()


def test_calls_held_by_either_process_join_rooms_and_end_either_way(tmp_path):
    async def scenario(up, lk, peer, calls):
        status, text = await get(up.url + "/readyz")
        assert status == 200 and "call_workers: serving" in text
        held = {shard: [await calls.answered(shard) for _ in range(2)] for shard in (0, 1)}
        rooms = await present(lk)
        assert set(rooms) == {f"sip_{caller}" for group in held.values() for _, _, caller in group}
        # One of each ends with the caller's BYE, the other with RemoveParticipant (BYE to the caller).
        for shard, ((invite, ok, _), (removed, removed_ok, caller)) in held.items():
            assert await calls.hang_up(invite, ok) == 200
            await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room=rooms[f"sip_{caller}"],
                                                                             identity=f"sip_{caller}"))
            bye, _ = await peer.wait_for(lambda m: getattr(m, "method", "") == "BYE"
                                         and m.call_id == removed.call_id, timeout=10)
            peer.send(peer.response(bye, 200), up.sip_target)
        assert await until(lambda: _none_left(lk))
        assert await metrics_reach(up, {'sipconf_sip_calls_total{direction="inbound",status="200"}': 4})

    with_workers(tmp_path, scenario)


async def _none_left(lk) -> bool:
    return not await present(lk)


def test_a_transfer_reaches_the_call_the_worker_holds(tmp_path):
    async def scenario(up, lk, peer, calls):
        invite, ok, caller = await calls.answered(1)
        room = (await present(lk))[f"sip_{caller}"]
        transfer = asyncio.ensure_future(lk.sip.transfer_sip_participant(sip_pb.TransferSIPParticipantRequest(
            room_name=room, participant_identity=f"sip_{caller}", transfer_to="tel:+15550199")))
        refer, _ = await peer.request("REFER", timeout=10)
        assert refer.call_id == invite.call_id and "+15550199" in refer.get("refer-to")
        peer.send(peer.response(refer, 202), up.sip_target)
        dialog = Dialog.from_uac(invite, ok)
        notify = dialog.create_request("NOTIFY", peer.via, [("Event", "refer"),
                                                            ("Subscription-State", "terminated;reason=noresource")])
        notify.set_body(b"SIP/2.0 200 OK\r\n", "message/sipfrag")
        peer.send(notify, up.sip_target)
        assert (await peer.final_to(notify, timeout=10)).status == 200
        bye, _ = await peer.wait_for(lambda m: getattr(m, "method", "") == "BYE", timeout=10)
        peer.send(peer.response(bye, 200), up.sip_target)
        await asyncio.wait_for(transfer, 10)  # the API call succeeded

        # A participant nobody holds: LiveKit's answer, from the main process.
        with pytest.raises(api.TwirpError):
            await lk.sip.transfer_sip_participant(sip_pb.TransferSIPParticipantRequest(
                room_name=room, participant_identity="nobody", transfer_to="tel:+15550199"))

    with_workers(tmp_path, scenario)


def test_a_transfer_whose_worker_dies_fails_instead_of_hanging(tmp_path):
    async def scenario(up, lk, peer, calls):
        _, _, caller = await calls.answered(1)
        room = (await present(lk))[f"sip_{caller}"]
        transfer = asyncio.ensure_future(lk.sip.transfer_sip_participant(sip_pb.TransferSIPParticipantRequest(
            room_name=room, participant_identity=f"sip_{caller}", transfer_to="tel:+15550199")))
        await peer.request("REFER", timeout=10)  # never answered: the worker waits
        [worker] = call_workers(up.proc.pid)
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(api.TwirpError) as failed:
            await asyncio.wait_for(transfer, 10)
        assert failed.value.code == "unavailable"

    with_workers(tmp_path, scenario)


def test_digest_back_off_counts_wrong_answers_made_to_either_process(tmp_path):
    async def scenario(up, lk, peer, calls):
        target = up.sip_target

        async def wrong_answer(shard: int) -> int:
            call_id, tag = call_id_on(shard), secrets.token_hex(4)
            invite = peer.invite(target, "+15550111", CALLED, call_id=call_id, from_tag=tag)
            peer.send(invite, target)
            challenge = await peer.final_to(invite, timeout=10)
            peer.send(peer.ack_for(invite, challenge), target)
            if challenge.status == 503:
                return 503
            assert challenge.status == 407
            answer = answer_challenge(challenge.get("proxy-authenticate"), "INVITE", invite.uri, USER, "wrong")
            again = peer.invite(target, "+15550111", CALLED, call_id=call_id, from_tag=tag, cseq=2,
                                headers=[("Proxy-Authorization", answer)])
            peer.send(again, target)
            final = await peer.final_to(again, timeout=10)
            peer.send(peer.ack_for(again, final), target)
            return final.status

        assert await wrong_answer(0) == 401
        assert await wrong_answer(1) == 401  # the second failure, over both processes: backed off
        # Now refused on both, whichever process the next answer reaches.
        assert await wrong_answer(0) == 503
        assert await wrong_answer(1) == 503
        assert await metrics_reach(up, {'sipconf_sip_auth_backoffs_total{event="started"}': 1,
                                        "sipconf_sip_auth_backoffs_active": 1})

    with_workers(tmp_path, scenario, "--auth-failures", "2", "--auth-backoff", "30", auth=True)


def test_a_worker_that_dies_takes_only_its_calls_and_is_replaced(tmp_path):
    async def scenario(up, lk, peer, calls):
        mine, mine_ok, _ = await calls.answered(0)
        _, _, lost = await calls.answered(1)
        [worker] = call_workers(up.proc.pid)
        os.kill(worker, signal.SIGKILL)
        # Its participant leaves; the main process's call goes on.
        assert await until(lambda: _without(lk, f"sip_{lost}"))

        async def replaced():
            status, text = await get(up.url + "/readyz")
            return status == 200 and call_workers(up.proc.pid) not in ([], [worker])

        assert await until(replaced, timeout=20)
        assert await calls.hang_up(mine, mine_ok) == 200
        again, again_ok, _ = await calls.answered(1)  # the new worker takes calls
        assert await calls.hang_up(again, again_ok) == 200

    with_workers(tmp_path, scenario)


async def _without(lk, identity: str) -> bool:
    return identity not in await present(lk)


def test_sipp_calls_through_both_processes(tmp_path):
    from bench.sippload import run_uac

    async def scenario(up, lk, peer, calls):
        target = f"{up.sip_target[0]}:{up.sip_target[1]}"
        result = await asyncio.get_running_loop().run_in_executor(None, run_uac, target, 50, 4.0, CALLED)
        assert (result.successful, result.failed) == (200, 0)
        assert await metrics_reach(up, {'sipconf_sip_calls_total{direction="inbound",status="200"}': 200,
                                        "sipconf_sip_calls_in_progress": 0})

    with_workers(tmp_path, scenario)


# -- the same parts in this process ---------------------------------------------------------------
# `sipconf up` runs them in processes of their own; here the main process's side (the pool) runs
# in the test's process with a real worker process beside it, and a worker's side (`Worker`)
# runs in the test's process with the test as its front and its main process.


def test_the_pool_of_a_main_process_started_here(tmp_path):
    from sipconf.commands import up as up_command

    async def main():
        opts = up_command.UpOptions(http=("127.0.0.1", 0), sip=("127.0.0.1", 0), state=tmp_path / "s.db",
                                    mode="explicit", udp_front=True, workers=2)
        services = await up_command.start_services(opts)
        pool, bridge, cp = services.workers, services.bridge, services.control_plane
        try:
            assert pool.serving() == {"call_workers": True}
            async with api.LiveKitAPI(cp.url, cp.api_key, cp.api_secret) as lk, Agent() as peer:
                await routed(lk)
                calls = Calls(peer, bridge.udp_address)
                await calls.answered(0)
                invite, ok, caller = await calls.answered(1)
                rooms = await present(lk)
                assert pool.owners == {(rooms[f"sip_{caller}"], f"sip_{caller}"): 1}
                await until(lambda: _snapshot_has_calls(pool))
                families = {f.name: f for f in bridge.metrics.families(bridge, pool.snapshots())}
                assert families["sipconf_sip_calls_in_progress"].samples[0][1] == 2
                # TransferSIPParticipant, handed to the worker and answered by it.
                transfer = asyncio.ensure_future(bridge.transfer_sip_participant(sip_pb.TransferSIPParticipantRequest(
                    room_name=rooms[f"sip_{caller}"], participant_identity=f"sip_{caller}",
                    transfer_to="tel:+15550199")))
                refer, _ = await peer.request("REFER", timeout=10)
                peer.send(peer.response(refer, 603, "Declined"), bridge.udp_address)
                with pytest.raises(Exception) as declined:
                    await asyncio.wait_for(transfer, 10)
                assert "603" in str(declined.value)
                # A removal from the API reaches the worker: BYE to the caller.
                cp.rooms.remove_participant(rooms[f"sip_{caller}"], f"sip_{caller}")
                bye, _ = await peer.wait_for(lambda m: getattr(m, "method", "") == "BYE"
                                             and m.call_id == invite.call_id, timeout=10)
                peer.send(peer.response(bye, 200), bridge.udp_address)
                assert await until(lambda: _owned_by_nobody(pool))
                # A digest failure counted here reaches the worker (and the worker's, here).
                bridge.config.backoff.failed("192.0.2.7", "acme")
        finally:
            await services.stop()
        assert pool.serving() == {"call_workers": False}

    asyncio.run(asyncio.wait_for(main(), 60))


async def _snapshot_has_calls(pool) -> bool:
    return any(snapshot["in_progress"] for snapshot in pool.snapshots())


async def _owned_by_nobody(pool) -> bool:
    return not pool.owners


def test_a_worker_run_here_with_the_test_as_its_front_and_main_process(tmp_path):
    import argparse
    import socket as sockets

    from sipconf.bridge import front_wire as wire
    from sipconf.bridge.front_endpoint import pair_of_links
    from sipconf.bridge.udp import bound_socket
    from sipconf.bridge.worker import Worker
    from sipconf.bridge.worker_wire import Channel
    from sipconf.local import store as st
    from sipconf.local.bridge_adapter import StoreDirectory

    store = st.StateStore(tmp_path / "s.db")
    with store.write() as view:
        view.put(st.INBOUND, sip_pb.SIPInboundTrunkInfo(sip_trunk_id="ST_w", name="carrier", numbers=[CALLED]))
        view.put(st.RULE, sip_pb.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_w", rule=sip_pb.SIPDispatchRule(
            dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name="support"))))

    async def main():
        loop = asyncio.get_running_loop()
        udp = bound_socket("127.0.0.1", 0)
        front, link = pair_of_links()
        ours, theirs = sockets.socketpair(sockets.AF_UNIX, sockets.SOCK_SEQPACKET)
        args = argparse.Namespace(shard=1, shards=2, udp_fd=os.dup(udp.fileno()), link_fd=link.detach(),
                                  control_fd=theirs.detach())
        worker = Worker(args, {"host": "127.0.0.1", "auth_backoff": {"failures": 2}},
                        StoreDirectory.of(st.StateStore(tmp_path / "s.db")))
        heard: list[tuple] = []
        control = Channel(loop, ours, lambda message, fds: heard.append(message), lambda: None)
        running = asyncio.ensure_future(worker.run())

        async def said(kind: str) -> tuple:
            async def found():
                return next((m for m in heard if m[0] == kind), None)
            return await until(found)

        try:
            await said("ready")
            async with Agent() as peer:
                target = udp.getsockname()
                invite = peer.invite(target, "+15550111", CALLED, call_id=call_id_on(1))
                front.send(wire.frame(wire.DATAGRAMS, 0, [(time.time(), (peer.host, peer.port), bytes(invite))]))
                ok = await peer.final_to(invite, timeout=10)  # sent by the worker from the SIP socket
                assert ok.status == 200
                join = await said("join")
                assert join[1:3] == ("support", "sip_+15550111")
                control.say(("removed", "support", "sip_+15550111", "removed"))
                bye, _ = await peer.request("BYE", timeout=10)
                answered = bytes(peer.response(bye, 200))
                front.send(wire.frame(wire.DATAGRAMS, 0, [(time.time(), (peer.host, peer.port), answered)]))
                assert (await said("leave"))[1:] == ("support", "sip_+15550111")
            # Back-off events from elsewhere are applied; a transfer for nobody is refused.
            control.say(("backoff", False, "192.0.2.7", "acme"))
            control.say(("backoff", False, "192.0.2.7", "acme"))
            nobody = sip_pb.TransferSIPParticipantRequest(room_name="support", participant_identity="nobody",
                                                          transfer_to="tel:+15550199")
            control.say(("transfer", 7, nobody.SerializeToString()))
            done = await said("transferred")
            assert done[1] == 7 and done[2] is not None
            assert worker.bridge.config.backoff.retry_after("192.0.2.7", "acme") is not None

            async def counted():
                snapshots = [m[1] for m in heard if m[0] == "metrics"]
                return snapshots and snapshots[-1]["calls"].get(("inbound", "200")) == 1

            assert await until(counted)
        finally:
            worker.stopped.set()
            await asyncio.wait_for(running, 10)
            control.close()
            for sock in (udp, front):
                sock.close()

    asyncio.run(asyncio.wait_for(main(), 60))
