"""The UDP front (`sipconf.bridge.front`): the bridge with its SIP UDP work done by a second
process, over real sockets on 127.0.0.1 with the real front process.

Calls go through it as they do without it; while the bridge is overloaded the front answers
new INVITEs 503 itself (the same stateless 503, its ACK dropped, a retransmission refused
again, the refusals counted by the bridge), never an INVITE the bridge already has; a hostile
datagram costs only itself; a front that dies is replaced."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import socket
import threading
import time

from sipconf.bridge import front_wire as wire
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.front import Front, serve
from sipconf.bridge.shedding import Doorman
from sipconf.bridge.transaction import build_ack_for_non2xx
from sipconf.bridge.udp import bound_socket

from .hostile_helpers import call_completes, options, routed_bridge, udp_client, udp_probe_answered
from .test_calls_inbound import call, direct_rule, open_trunk, participants, ring, run
from .test_hostile_datagrams import KILLERS


def test_a_call_goes_through_the_front(tmp_path):
    async def scenario(bridge, lk, peer):
        assert bridge.sip._udp_transport.proc.poll() is None  # the front runs
        await open_trunk(lk)
        await direct_rule(lk)
        invite, ok = await call(bridge, peer)
        assert ok.status == 200 and ok.to.tag
        assert [p.identity for p in await participants(lk, "support")] == ["sip_+15550111"]
        bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
        peer.send(bye, bridge.udp_address)
        assert (await peer.final_to(bye)).status == 200
        assert await participants(lk, "support") == []
        assert bridge.sip.serving() == {"udp": True, "tcp": True}

    asyncio.run(run(scenario, udp_front=True)(tmp_path / "s.db"))


async def _until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _options(bridge, peer):
    request = peer.invite(bridge.udp_address, "+15550111", "+15550100")
    request.method = "OPTIONS"
    request.set("CSeq", "1 OPTIONS")
    return request


async def _overloaded(bridge, peer):
    """The bridge's queue has long been old; one datagram read makes it tell the front."""
    bridge.admission.queue_age, bridge.admission.old_since = 1.0, -10.0
    probe = _options(bridge, peer)
    peer.send(probe, bridge.udp_address)
    assert (await peer.final_to(probe)).status == 200


def test_while_overloaded_the_front_refuses_new_invites_the_bridge_counts_them(tmp_path):
    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        await _overloaded(bridge, peer)
        handled = bridge._received
        target = bridge.udp_address
        invite = peer.invite(target, "+15550111", "+15550100")
        filler = _options(bridge, peer)
        peer.send(filler, target)
        peer.send(invite, target)
        time.sleep(0.2)  # the bridge's loop is busy: the front reads both, the bridge has not read the first
        busy = await peer.final_to(invite)
        assert (busy.status, busy.get("retry-after")) == (503, "1") and busy.to.tag
        peer.send(build_ack_for_non2xx(invite, busy), target)  # dropped by the front
        peer.send(invite, target)  # the same INVITE again: the same 503
        await peer.wait_for(lambda m: len(peer.responses_to(invite)) == 2)
        assert len({r.to.tag for r in peer.responses_to(invite)}) == 1
        await _until(lambda: bridge.admission.refused.get("queue_age") == 1)
        assert bridge._received == handled + 1  # the filler only: the bridge parsed none of the others
        assert not any(tx.request.method == "INVITE" for tx in bridge.tm.server.values())
        assert bridge.metrics.calls[("inbound", "503")] == 1
        assert await participants(lk, "support") == []

    asyncio.run(run(scenario, udp_front=True, max_queue_age=0.1)(tmp_path / "s.db"))


def test_a_bridge_that_caught_up_gets_new_invites_whatever_it_said_last(tmp_path):
    """The front refuses only while the bridge has not read all it was handed: an idle bridge
    that said it was overloaded a moment ago still gets the next call."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        await _overloaded(bridge, peer)
        bridge.admission.queue_age, bridge.admission.old_since = 0.0, None  # it caught up
        invite, ok = await call(bridge, peer)
        assert ok.status == 200 and bridge.admission.refused == {}

    asyncio.run(run(scenario, udp_front=True, max_queue_age=0.1)(tmp_path / "s.db"))


def test_an_invite_the_bridge_has_is_never_refused_by_the_front(tmp_path):
    """A retransmission of an INVITE handed on before the overload goes on to the bridge, whose
    transaction answers it with its last provisional: one call, no 503."""

    async def scenario(bridge, lk, peer):
        await open_trunk(lk)
        await direct_rule(lk)
        target = bridge.udp_address
        invite = await ring(bridge, peer)
        await _overloaded(bridge, peer)
        ringing = len(peer.responses_to(invite))
        peer.send(invite, target)  # retransmitted: its answer is late
        await peer.wait_for(lambda m: len(peer.responses_to(invite)) > ringing)
        assert [r.status for r in peer.responses_to(invite)][ringing:] == [180]
        bridge.clock.advance(5)  # the ring delay
        assert (await peer.final_to(invite)).status == 200
        assert bridge.admission.refused == {}

    asyncio.run(run(scenario, udp_front=True, ring_delay=5, max_queue_age=0.1)(tmp_path / "s.db"))


def test_each_killer_datagram_costs_only_itself_through_the_front(tmp_path):
    async def main():
        async with routed_bridge(tmp_path, udp_front=True) as (bridge, lk, _clock):
            sender, replies, local = await udp_client()
            try:
                for name, via, _answered in KILLERS:
                    data = options(via.format(host=local[0], port=local[1]), f"killer-{name.split()[0]}")
                    sender.sendto(data, bridge.udp_address)
                    sender.sendto(b"\x00\xff garbage \r\n\r\n" + os.urandom(64), bridge.udp_address)
                    await udp_probe_answered(sender, replies, local, bridge.udp_address)
                    assert bridge.sip._udp_transport.proc.poll() is None, name
                await call_completes(bridge, lk, "udp")
                assert bridge.sip.serving()["udp"]
            finally:
                sender.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_front_that_dies_is_replaced_and_calls_go_on(tmp_path):
    async def main():
        async with routed_bridge(tmp_path, udp_front=True) as (bridge, lk, _clock):
            endpoint = bridge.sip._udp_transport
            first = endpoint.proc.pid
            time.sleep(1.1)  # past RESPAWN_INTERVAL since it started
            os.kill(first, signal.SIGKILL)
            await _until(lambda: endpoint.proc is not None and endpoint.proc.pid != first, 10)
            await call_completes(bridge, lk, "udp")
            assert bridge.sip.serving()["udp"]
        assert endpoint.proc is None and endpoint.is_closing()  # closed with the bridge, its front too

    asyncio.run(asyncio.wait_for(main(), 60))


# -- the front's own work, in this process (the process `sipconf up` starts runs the same) -------

SIPP_INVITE = ("INVITE sip:+15550100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{n}\r\n"
               "From: <sip:caller@127.0.0.1>;tag={n}\r\nTo: <sip:+15550100@127.0.0.1>\r\nCall-ID: {n}@127.0.0.1\r\n"
               "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


class _Rig:
    """A front on a real UDP socket and socket pair; `bridge` is the pair's other end and `peer`
    a caller's UDP socket, both non-blocking and read with a deadline."""

    def __init__(self, send_buffer: int | None = None) -> None:
        self.udp = bound_socket("127.0.0.1", 0)
        self.bridge, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        theirs.setblocking(False)
        if send_buffer is not None:
            theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        self.front = Front(self.udp, theirs)
        self.peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.peer.bind(("127.0.0.1", 0))
        self.peer.settimeout(2)
        self.bridge.settimeout(2)

    def invite(self, n: int) -> bytes:
        host, port = self.peer.getsockname()
        return SIPP_INVITE.format(host=host, port=port, n=n).encode()

    def deliver(self, *datagrams: bytes) -> None:
        """Send `datagrams` to the front's port and let the front read them all."""
        for data in datagrams:
            self.peer.sendto(data, self.udp.getsockname())
        time.sleep(0.05)
        self.front.read_udp()

    def frame(self) -> tuple[int, int, list]:
        data = self.bridge.recv(wire.MAX_FRAME + 4096)
        kind, number = wire.kind_of(data)
        return kind, number, list(wire.records(data))

    def close(self) -> None:
        for sock in (self.udp, self.bridge, self.front.pair, self.peer):
            sock.close()


def test_the_front_hands_on_datagrams_with_their_arrival_and_sends_what_the_bridge_gives():
    rig = _Rig()
    try:
        before = time.time()
        rig.deliver(b"OPTIONS one", b"OPTIONS two")
        kind, refused, records = rig.frame()
        assert (kind, refused) == (wire.DATAGRAMS, 0)
        assert [(addr, data) for _, addr, data in records] == [(rig.peer.getsockname(), b"OPTIONS one"),
                                                               (rig.peer.getsockname(), b"OPTIONS two")]
        assert all(before - 0.01 <= arrival <= time.time() for arrival, _, _ in records)
        rig.bridge.send(wire.frame(wire.SEND, 0, [(0.0, rig.peer.getsockname(), b"SIP/2.0 200 OK\r\n\r\n")]))
        assert rig.front.from_bridge()
        assert rig.peer.recv(100) == b"SIP/2.0 200 OK\r\n\r\n"
        rig.front.sendto(b"to nowhere", ("192.0.2.1", 5060))  # off loopback: never sent
        assert rig.front.outgoing == collections.deque()
        rig.bridge.close()
        assert not rig.front.from_bridge()  # the bridge closed its end: the front ends
    finally:
        rig.close()


def test_told_to_shed_the_front_refuses_new_invites_only_while_the_bridge_is_behind():
    rig = _Rig()
    try:
        rig.bridge.send(wire.frame(wire.SHED, 300))
        rig.front.from_bridge()
        rig.deliver(b"OPTIONS unread", rig.invite(1))  # the bridge has not read the OPTIONS yet
        busy = rig.peer.recv(2000)
        assert busy.startswith(b"SIP/2.0 503 Service Unavailable\r\n") and b"Retry-After: 1\r\n" in busy
        ack = rig.invite(1).replace(b"INVITE sip", b"ACK sip").replace(b"CSeq: 1 INVITE", b"CSeq: 1 ACK")
        rig.deliver(ack, rig.invite(1))  # the ACK dropped, the INVITE sent again refused again
        assert rig.peer.recv(2000) == busy
        kind, refused, records = rig.frame()
        assert (kind, refused, [data for _, _, data in records]) == (wire.DATAGRAMS, 1, [b"OPTIONS unread"])
        rig.deliver(rig.invite(2))  # the bridge read everything: the call goes on to it
        kind, refused, records = rig.frame()
        assert (refused, [data for _, _, data in records]) == (0, [rig.invite(2)])
        rig.bridge.send(wire.frame(wire.SHED, 0))
        rig.front.from_bridge()
        assert not rig.front.shedding.stale(1.0)
    finally:
        rig.close()


def test_a_shed_word_answers_the_new_invites_the_front_still_holds():
    """INVITEs held for a bridge that reads slowly are refused when it says it is overloaded;
    an INVITE already handed on is not, and neither is anything else held."""
    rig = _Rig()
    try:
        rig.deliver(rig.invite(3))
        rig.frame()  # invite 3 is the bridge's now
        held = [rig.invite(4), b"BYE held", rig.invite(3)]  # a new INVITE, a BYE, a retransmission
        for data in held:
            branch = Doorman._top_branch(data) if data.startswith(b"INVITE") else None
            rig.front.held.append((time.time(), rig.peer.getsockname(), data, branch))
            if branch:
                rig.front.holding[branch] = rig.front.holding.get(branch, 0) + 1
        rig.bridge.send(wire.frame(wire.SHED, 300))
        rig.front.from_bridge()
        assert rig.peer.recv(2000).startswith(b"SIP/2.0 503")
        assert [item[2] for item in rig.front.held] == [b"BYE held", rig.invite(3)]
        rig.front.to_bridge()
        kind, refused, records = rig.frame()
        assert (refused, [data for _, _, data in records]) == (1, [b"BYE held", rig.invite(3)])
        assert rig.front.holding == {}
    finally:
        rig.close()


def test_serve_runs_until_the_bridge_closes_its_end():
    rig = _Rig()
    runner = threading.Thread(target=serve, args=(rig.front,), daemon=True)
    runner.start()
    try:
        rig.peer.sendto(b"OPTIONS served", rig.udp.getsockname())
        assert rig.frame()[2][0][2] == b"OPTIONS served"
        rig.bridge.close()
        runner.join(5)
        assert not runner.is_alive()
    finally:
        rig.close()


def test_a_bridge_that_reads_slowly_gets_every_datagram_in_order_later():
    """The pair full, the front keeps what it read (in order) and hands it on once there is room."""
    rig = _Rig(send_buffer=8192)
    try:
        sent = [b"OPTIONS %d " % n + b"x" * 1500 for n in range(40)]
        for chunk in range(0, len(sent), 8):
            rig.deliver(*sent[chunk:chunk + 8])
        assert rig.front.backlog  # the pair took only part of it
        got = []
        while len(got) < len(sent):
            got += [data for _, _, data in rig.frame()[2]]
            rig.front.to_bridge()
        assert got == sent and not rig.front.backlog
    finally:
        rig.close()


def _with_call_id(call_id: str) -> bytes:
    return (f"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{call_id}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n\r\n").encode()


def test_with_call_workers_each_datagram_goes_to_the_process_its_call_id_names():
    """`sipconf up --workers 2`: the main bridge hands the front a worker's link (ATTACH, with
    the descriptor); the front then splits datagrams by Call-ID, sends what either gives it,
    and gives a worker's share back to the main bridge once that link closes."""
    from sipconf.bridge.shards import owns

    udp = bound_socket("127.0.0.1", 0)
    main, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    worker, worker_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    for sock in (main, worker, peer):
        sock.settimeout(2)
    theirs.setblocking(False)
    front = Front(udp, theirs, shards=2)
    runner = threading.Thread(target=serve, args=(front,), daemon=True)
    runner.start()
    ids = {shard: next(f"id{n}" for n in range(100) if owns(f"id{n}", shard, 2)) for shard in (0, 1)}
    try:
        socket.send_fds(main, [wire.header(wire.ATTACH, 1)], [worker_theirs.fileno()])
        worker_theirs.close()
        deadline = time.monotonic() + 5
        while front.links[1] is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for shard in (1, 0, 1):
            peer.sendto(_with_call_id(ids[shard]), udp.getsockname())
        got_worker = [data for _, _, data in wire.records(worker.recv(wire.MAX_FRAME))]
        while len(got_worker) < 2:
            got_worker += [data for _, _, data in wire.records(worker.recv(wire.MAX_FRAME))]
        assert got_worker == [_with_call_id(ids[1])] * 2
        assert [data for _, _, data in wire.records(main.recv(wire.MAX_FRAME))] == [_with_call_id(ids[0])]
        peer.sendto(b"no call id at all", udp.getsockname())
        assert [data for _, _, data in wire.records(main.recv(wire.MAX_FRAME))] == [b"no call id at all"]
        worker.send(wire.frame(wire.SEND, 0, [(0.0, peer.getsockname(), b"SIP/2.0 200 from the worker\r\n\r\n")]))
        assert peer.recv(100) == b"SIP/2.0 200 from the worker\r\n\r\n"
        worker.close()  # the worker died: its share goes to the main bridge
        deadline = time.monotonic() + 5
        while front.links[1] is not None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        peer.sendto(_with_call_id(ids[1]), udp.getsockname())
        assert [data for _, _, data in wire.records(main.recv(wire.MAX_FRAME))] == [_with_call_id(ids[1])]
        main.close()
        runner.join(5)
        assert not runner.is_alive()
    finally:
        for sock in (udp, main, worker, peer, theirs):
            sock.close()
