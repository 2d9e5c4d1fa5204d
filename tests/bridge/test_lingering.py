"""Finished server transactions (sipconf.bridge.lingering): once done with its TU, a
transaction is kept only as its key and what a retransmission gets, for as long as its
Timer J, I or L would have kept it.  Real bridge and control plane on 127.0.0.1 with
`sipconf.agent` callers, or the transaction manager alone; timers on a ManualClock."""

from __future__ import annotations

import asyncio
import gc
import secrets
import weakref

import pytest

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.lingering import SWEEP_INTERVAL, Finished, LingeringTable
from sipconf.bridge.transaction import T1, T4, InviteServerTransaction, ServerState, TransactionManager, build_cancel
from sipconf.sip.message import Request, Response, make_response

from .hostile_helpers import GUARD, agent_for, answered_call, options, routed_bridge, udp_client
from .test_transaction import Wire, request


def responses_to(peer: Agent, request: Request, start: int) -> list[Response]:
    return [m for m, _ in peer.messages[start:] if isinstance(m, Response) and m.call_id == request.call_id
            and m.cseq.method == request.cseq.method and m.top_via.branch == request.top_via.branch]


async def probe(peer: Agent, target) -> None:
    """An OPTIONS from the same socket gets its 200: the bridge handled everything the peer
    sent before it (loopback datagrams and a TCP stream keep their order)."""
    call_id = f"probe-{secrets.token_hex(6)}"
    peer.send(options(f"{peer.via};branch=z9hG4bK{secrets.token_hex(6)};rport", call_id), target)
    await peer.wait_for(lambda m: isinstance(m, Response) and m.call_id == call_id, GUARD)


def server_methods(bridge) -> list[str]:
    """The methods of the server transactions the manager still holds as objects."""
    return [tx.request.method for tx in bridge.tm.server.values()]


# -- through the bridge, on real sockets ------------------------------------------------------

def test_a_retransmitted_bye_gets_the_same_200_until_64_t1_then_the_tu_answers(tmp_path):
    async def main():
        async with routed_bridge(tmp_path) as (bridge, lk, clock), Agent() as peer:
            target = bridge.udp_address
            invite, ok = await answered_call(peer, target)
            bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
            peer.send(bye, target)
            first = await peer.final_to(bye, GUARD)
            assert first.status == 200
            assert bridge.dialogs == {} and "BYE" not in server_methods(bridge)
            assert bridge.tm.state_of(bye) is ServerState.COMPLETED

            mark = len(peer.messages)
            peer.send(bye, target)  # the 200 was lost: the caller retransmits
            await probe(peer, target)
            [again] = responses_to(peer, bye, mark)
            assert bytes(again) == bytes(first)  # not the TU's 481: the call is gone

            clock.advance(64 * T1 - 0.01)
            assert bridge.tm.state_of(bye) is ServerState.COMPLETED
            clock.advance(0.01)  # Timer J
            assert bridge.tm.state_of(bye) is None
            mark = len(peer.messages)
            peer.send(bye, target)  # now a new request for the TU, whose call is gone
            await probe(peer, target)
            assert [r.status for r in responses_to(peer, bye, mark)] == [481]

    asyncio.run(asyncio.wait_for(main(), 30))


def test_the_retransmission_is_answered_where_the_via_says_not_where_it_came_from(tmp_path):
    """RFC 3261 18.2.2: a Via without rport sends the response to its sent-by; the
    response to a retransmission goes there too."""
    async def main():
        async with routed_bridge(tmp_path) as (bridge, lk, clock):
            sender, _, _ = await udp_client()
            listener, heard, there = await udp_client()
            try:
                bye = (f"BYE sip:bridge@127.0.0.1 SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {there[0]}:{there[1]};branch=z9hG4bKviaret\r\n"
                       "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=f\r\nTo: <sip:b@127.0.0.1>;tag=gone\r\n"
                       "Call-ID: no-such-dialog\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n").encode()
                sender.sendto(bye, bridge.udp_address)
                first = await heard.wait_for(b"Call-ID: no-such-dialog")
                assert first.startswith(b"SIP/2.0 481 ")
                sender.sendto(bye, bridge.udp_address)
                while len(heard.received) < 2:
                    heard.changed.clear()
                    await asyncio.wait_for(heard.changed.wait(), GUARD)
                assert heard.received == [first, first]
            finally:
                sender.close()
                listener.close()

    asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_retransmitted_invite_and_ack_after_the_2xx_was_acked_are_absorbed(tmp_path, transport):
    async def main():
        async with routed_bridge(tmp_path) as (bridge, lk, clock), agent_for(bridge, transport) as peer:
            target = bridge.udp_address if transport == "udp" else bridge.tcp_address
            invite, ok = await answered_call(peer, target)
            await probe(peer, target)  # the ACK was handled
            assert "INVITE" not in server_methods(bridge) and bridge.tm._accepted == {}
            assert bridge.tm.state_of(invite) is ServerState.ACCEPTED
            calls = dict(bridge.metrics.calls)

            mark = len(peer.messages)
            peer.send(invite, target)  # RFC 6026 7.1: absorbed, not passed to the TU
            peer.send(peer.ack_for(invite, ok), target)  # the ACK again: nothing happens
            await probe(peer, target)
            assert responses_to(peer, invite, mark) == []
            assert bridge.metrics.calls == calls and len(bridge.dialogs) == 1

            clock.advance(64 * T1)  # Timer L, from the 2xx
            assert bridge.tm.state_of(invite) is None

    asyncio.run(asyncio.wait_for(main(), 30))


# -- the transaction manager --------------------------------------------------------------------

def test_a_finished_transaction_lets_go_of_its_request_response_and_timers():
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.receive_request(request("BYE"), wire, reliable=False).transaction
    tx.respond(make_response(tx.request, 200, "OK"))
    gone = weakref.ref(tx)
    del tx
    gc.collect()
    assert gone() is None and manager.server == {}
    assert manager.receive_request(request("BYE"), wire, reliable=False) is None
    assert wire.statuses() == [200, 200]
    assert bytes(wire.sent[1]) == bytes(wire.sent[0])


def test_a_2xx_the_tu_passes_after_the_ack_still_goes_out_until_timer_l():
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.receive_request(request(), wire, reliable=False).transaction
    ok = make_response(tx.request, 200, "OK", to_tag="t")
    tx.respond(ok)
    manager.receive_request(request("ACK", branch="z9hG4bKack"), wire, reliable=False)
    assert manager.server == {} and tx.state is ServerState.ACCEPTED
    tx.respond(ok)  # RFC 6026 7.1: the TU's 2xx passes through in Accepted
    clock.advance(64 * T1)
    assert wire.statuses() == [100, 200, 200]  # nothing retransmitted on its own once ACKed


def test_a_cancel_after_the_invite_finished_matches_and_cancels_nothing():
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.receive_request(request(), wire, reliable=False).transaction
    tx.respond(make_response(tx.request, 486, "Busy Here", to_tag="t"))
    manager.receive_request(request("ACK"), wire, reliable=False)
    delivery = manager.receive_request(build_cancel(request()), wire, reliable=False)
    assert delivery.cancels is None and delivery.cancels_finished  # RFC 3261 9.2: the TU answers 200
    clock.advance(T4)
    delivery = manager.receive_request(build_cancel(request(branch="z9hG4bKother")), wire, reliable=False)
    assert delivery.cancels is None and not delivery.cancels_finished  # 481


def test_finished_transactions_are_bounded_and_the_first_to_finish_goes_first():
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock, max_lingering=3)
    byes = [request("BYE", branch=f"z9hG4bKbye{n}") for n in range(5)]
    for bye in byes:
        delivery = manager.receive_request(bye, wire, reliable=False)
        delivery.transaction.respond(make_response(bye, 200, "OK"))
        clock.advance(1)
    assert len(manager.lingering) == 3 and manager.lingering.evicted == 2
    assert [manager.state_of(bye) for bye in byes] == [None, None] + [ServerState.COMPLETED] * 3
    # the first one was forgotten: its retransmission is a new request for the TU
    assert manager.receive_request(byes[0], wire, reliable=False) is not None
    clock.advance(64 * T1)
    assert len(manager.lingering) == 0


def test_over_tcp_nothing_lingers_after_a_non_invite_final():
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.receive_request(request("BYE"), wire, reliable=True).transaction
    tx.respond(make_response(tx.request, 200, "OK"))
    clock.advance(0)  # Timer J is zero on a reliable transport
    assert tx.state is ServerState.TERMINATED and len(manager) == 0


# -- the table ----------------------------------------------------------------------------------

class Sender:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, object]] = []

    def resend(self, data: bytes, to) -> None:
        self.sent.append((data, to))


def test_the_table_forgets_each_entry_at_its_own_expiry_with_one_timer():
    clock = ManualClock()
    table: LingeringTable[str] = LingeringTable(clock)
    table.add("long", Finished(32.0, ServerState.COMPLETED))
    table.add("short", Finished(5.0, ServerState.CONFIRMED))  # added later, due first
    assert clock.pending == 1
    clock.advance(5.0 - 0.01)
    assert len(table) == 2
    clock.advance(0.01)
    assert "short" not in table and "long" in table and clock.pending == 1
    clock.advance(27.0)
    assert len(table) == 0 and clock.pending == 0


def test_an_entry_resends_its_response_to_where_the_first_one_went():
    sender = Sender()
    entry = Finished(32.0, ServerState.COMPLETED, b"SIP/2.0 200 OK\r\n\r\n", sender, ("127.0.0.1", 5070))
    entry.absorb()
    Finished(32.0, ServerState.ACCEPTED).absorb()  # nothing to send
    assert sender.sent == [(b"SIP/2.0 200 OK\r\n\r\n", ("127.0.0.1", 5070))]


def test_the_expiry_heap_stays_bounded_when_entries_are_evicted():
    clock = ManualClock()
    table: LingeringTable[int] = LingeringTable(clock, capacity=4)
    for n in range(1000):
        table.add(n, Finished(32.0 + n, ServerState.COMPLETED))
    assert len(table) == 4 and table.evicted == 996
    assert len(table._expiries) <= 8
    assert [n for n in range(1000) if n in table] == [996, 997, 998, 999]


def test_a_key_added_again_is_not_forgotten_at_the_earlier_expiry():
    clock = ManualClock()
    table: LingeringTable[str] = LingeringTable(clock, capacity=2)
    for key in "abc":  # "c" evicts "a"
        table.add(key, Finished(10.0, ServerState.COMPLETED))
    table.add("a", Finished(20.0, ServerState.COMPLETED))  # evicts "b"; "a" again, due later
    clock.advance(10.0)
    assert "a" in table and "c" not in table
    clock.advance(10.0)
    assert len(table) == 0


def test_an_invite_confirmed_over_tcp_ends_at_once():
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.receive_request(request(), wire, reliable=True).transaction
    assert isinstance(tx, InviteServerTransaction)
    tx.respond(make_response(tx.request, 486, "Busy Here", to_tag="t"))
    manager.receive_request(request("ACK"), wire, reliable=True)
    clock.advance(0)  # Timer I is zero on a reliable transport
    assert tx.state is ServerState.TERMINATED and len(manager) == 0


def test_entries_falling_due_close_together_are_swept_together():
    """At line rate an entry falls due every few hundred microseconds: the table sweeps at most
    once per SWEEP_INTERVAL instead of arming a timer per entry, and none outlives its expiry by
    more than that."""
    clock = ManualClock()
    armed = []
    call_later = clock.call_later
    clock.call_later = lambda delay, callback: armed.append(delay) or call_later(delay, callback)
    table: LingeringTable[int] = LingeringTable(clock)
    for n in range(1000):  # one entry due every millisecond, from 1 s to 2 s
        table.add(n, Finished(1.0 + n / 1000, ServerState.COMPLETED))
    gone_by: dict[int, float] = {}
    while len(table):
        clock.advance(0.001)
        gone_by.update((n, clock.now()) for n in range(1000) if n not in table and n not in gone_by)
    assert len(armed) <= 1 + 1.0 / SWEEP_INTERVAL + 1
    assert all(1.0 + n / 1000 - 1e-6 <= gone_by[n] <= 1.0 + n / 1000 + SWEEP_INTERVAL + 0.002 for n in range(1000))
