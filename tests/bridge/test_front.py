"""The UDP front (`sipconf.bridge.front`): the bridge with its SIP UDP work done by a second
process, over real sockets on 127.0.0.1 with the real front process.

Calls go through it as they do without it; while the bridge is overloaded the front answers
new INVITEs 503 itself (the same stateless 503, its ACK dropped, a retransmission refused
again, the refusals counted by the bridge), never an INVITE the bridge already has; a hostile
datagram costs only itself; a front that dies is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from sipconf.bridge.dialog import Dialog
from sipconf.bridge.transaction import build_ack_for_non2xx

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
