"""Transactions (RFC 3261 17 + RFC 6026) on a manual clock: no test sleeps for a timer."""

from __future__ import annotations

import logging

from sipconf.bridge.clock import ManualClock
from sipconf.sip.message import Message, Request, Response, make_response, parse
from sipconf.bridge.transaction import (
    T1,
    T2,
    T4,
    ClientState,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerState,
    TransactionManager,
    build_cancel,
)


def request(method: str = "INVITE", branch: str = "z9hG4bKabc", cseq: int = 1) -> Request:
    r = parse(
        f"{method} sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n"
        f"From: <sip:a@127.0.0.1>;tag=f\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: tx1\r\n"
        f"CSeq: {cseq} {method}\r\nContact: <sip:a@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n".encode()
    )
    assert isinstance(r, Request)
    return r


class Wire:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    def __call__(self, message: Message | bytes) -> None:
        # A finished transaction resends the bytes of its response.
        self.sent.append(parse(message) if isinstance(message, bytes) else message)

    def statuses(self) -> list[object]:
        return [m.status if isinstance(m, Response) else m.method for m in self.sent]


def test_invite_server_sends_100_and_retransmits_final_on_timer_g(caplog) -> None:
    clock, wire = ManualClock(), Wire()
    timeouts: list[bool] = []
    caplog.set_level(logging.DEBUG, "sipconf.bridge.transaction")
    tx = InviteServerTransaction(request(), wire, False, clock, on_timeout=lambda: timeouts.append(True))
    assert wire.statuses() == [100]
    tx.respond(make_response(tx.request, 486, "Busy Here", to_tag="t"))
    assert tx.state is ServerState.COMPLETED
    assert "INVITE server z9hG4bKabc: Proceeding -> Completed" in caplog.messages
    # Timer G: T1, 2T1, 4T1, then capped at T2.
    for interval in (T1, 2 * T1, 4 * T1, T2, T2):
        clock.advance(interval)
    assert wire.statuses() == [100] + [486] * 6
    clock.advance(64 * T1)  # Timer H
    assert tx.state is ServerState.TERMINATED and timeouts == [True]


def test_invite_server_absorbs_ack_and_waits_timer_i() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    delivery = manager.receive_request(request(), wire, reliable=False)
    assert delivery is not None and isinstance(delivery.transaction, InviteServerTransaction)
    tx = delivery.transaction
    tx.respond(make_response(tx.request, 404, "Not Found", to_tag="t"))
    # a retransmitted INVITE gets the final again; the ACK is absorbed
    assert manager.receive_request(request(), wire, reliable=False) is None
    assert manager.receive_request(request("ACK"), wire, reliable=False) is None
    assert tx.state is ServerState.CONFIRMED
    assert wire.statuses() == [100, 404, 404]
    # Confirmed, it is only its key in the manager, which absorbs the ACK and the INVITE
    assert manager.server == {} and manager.state_of(request()) is ServerState.CONFIRMED
    assert manager.receive_request(request("ACK"), wire, reliable=False) is None
    assert manager.receive_request(request(), wire, reliable=False) is None
    assert wire.statuses() == [100, 404, 404]
    clock.advance(T4 - 0.01)
    assert manager.state_of(request()) is ServerState.CONFIRMED
    clock.advance(0.01)  # Timer I
    assert manager.state_of(request()) is None and len(manager) == 0


def test_invite_server_tcp_has_no_retransmissions_and_zero_timer_i() -> None:
    clock, wire = ManualClock(), Wire()
    tx = InviteServerTransaction(request(), wire, True, clock, send_trying=False)
    tx.respond(make_response(tx.request, 603, "Decline", to_tag="t"))
    clock.advance(10)
    assert wire.statuses() == [603]
    tx.receive(request("ACK"))
    clock.advance(0)
    assert tx.state is ServerState.TERMINATED


def test_2xx_is_retransmitted_until_the_ack_arrives() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.receive_request(request(), wire, reliable=False).transaction
    tx.respond(make_response(tx.request, 200, "OK", to_tag="t"))
    assert tx.state is ServerState.ACCEPTED
    clock.advance(T1)
    clock.advance(2 * T1)
    assert wire.statuses() == [100, 200, 200, 200]
    ack = manager.receive_request(request("ACK", branch="z9hG4bKnew"), wire, reliable=False)
    assert ack is not None and ack.transaction is None  # 2xx ACK goes to the TU
    clock.advance(10)
    assert wire.statuses() == [100, 200, 200, 200]
    assert manager.state_of(request()) is ServerState.ACCEPTED
    clock.advance(64 * T1 - 3 * T1 - 10 - 0.01)
    assert manager.state_of(request()) is ServerState.ACCEPTED
    clock.advance(0.01)  # Timer L, from the 2xx
    assert manager.state_of(request()) is None and len(manager) == 0


def test_non_invite_server_timer_j() -> None:
    clock, wire = ManualClock(), Wire()
    tx = NonInviteServerTransaction(request("BYE"), wire, False, clock)
    tx.receive(request("BYE"))  # absorbed in Trying
    tx.respond(make_response(tx.request, 200, "OK"))
    tx.receive(request("BYE"))
    assert wire.statuses() == [200, 200]
    clock.advance(64 * T1 - 0.01)
    assert tx.state is ServerState.COMPLETED
    clock.advance(0.01)
    assert tx.state is ServerState.TERMINATED


def test_cancel_matches_the_invite_transaction() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    invite_tx = manager.receive_request(request(), wire, reliable=False).transaction
    cancel = build_cancel(request())
    delivery = manager.receive_request(cancel, wire, reliable=False)
    assert delivery.cancels is invite_tx
    assert isinstance(delivery.transaction, NonInviteServerTransaction)
    other = manager.receive_request(build_cancel(request(branch="z9hG4bKother")), wire, reliable=False)
    assert other.cancels is None


def test_invite_client_timer_a_then_b() -> None:
    clock, wire = ManualClock(), Wire()
    timeouts: list[bool] = []
    manager = TransactionManager(clock)
    tx = manager.send_request(request(), wire, False, on_response=lambda r: None, on_timeout=lambda: timeouts.append(True))
    for interval in (T1, 2 * T1, 4 * T1, 8 * T1, 16 * T1, 32 * T1):
        clock.advance(interval)
    assert wire.statuses() == ["INVITE"] * 7  # A doubles without cap: sends at 0..63*T1
    assert tx.state is ClientState.CALLING
    clock.advance(T1)  # Timer B fires at 64*T1
    assert tx.state is ClientState.TERMINATED and timeouts == [True]
    assert manager.client == {}


def test_invite_client_acks_non_2xx_and_timer_d() -> None:
    clock, wire = ManualClock(), Wire()
    got: list[int] = []
    manager = TransactionManager(clock)
    tx = manager.send_request(request(), wire, False, on_response=lambda r: got.append(r.status))
    ringing = make_response(tx.request, 180, "Ringing", to_tag="t")
    busy = make_response(tx.request, 486, "Busy Here", to_tag="t")
    assert manager.receive_response(ringing)
    clock.advance(5)  # Timer A stopped in Proceeding
    assert manager.receive_response(busy)
    assert manager.receive_response(busy)  # retransmission: ACK again, not passed up
    assert got == [180, 486]
    assert wire.statuses() == ["INVITE", "ACK", "ACK"]
    ack = wire.sent[1]
    assert ack.top_via.branch == "z9hG4bKabc" and ack.to.tag == "t" and str(ack.cseq) == "1 ACK"
    clock.advance(32)
    assert tx.state is ClientState.TERMINATED


def test_invite_client_2xx_goes_to_tu_including_retransmissions() -> None:
    clock, wire = ManualClock(), Wire()
    got: list[int] = []
    tx = InviteClientTransaction(request(), wire, False, clock, on_response=lambda r: got.append(r.status))
    tx.start()
    ok = make_response(tx.request, 200, "OK", to_tag="t")
    tx.receive(ok)
    tx.receive(ok)
    assert got == [200, 200] and tx.state is ClientState.ACCEPTED
    clock.advance(64 * T1)
    assert tx.state is ClientState.TERMINATED


def test_non_invite_client_timers_e_f_k() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    timeouts: list[bool] = []
    tx = manager.send_request(request("BYE"), wire, False, on_response=lambda r: None, on_timeout=lambda: timeouts.append(True))
    for interval in (T1, 2 * T1, 4 * T1, T2, T2):
        clock.advance(interval)
    assert wire.statuses() == ["BYE"] * 6
    clock.advance(64 * T1 - (T1 + 2 * T1 + 4 * T1 + 2 * T2))
    assert tx.state is ClientState.TERMINATED and timeouts == [True]

    wire2 = Wire()
    got: list[int] = []
    tx2 = manager.send_request(request("BYE", branch="z9hG4bKtwo"), wire2, False, on_response=lambda r: got.append(r.status))
    assert manager.receive_response(make_response(tx2.request, 100, "Trying"))
    clock.advance(T2)  # Proceeding retransmits every T2
    assert wire2.statuses() == ["BYE", "BYE"]
    assert manager.receive_response(make_response(tx2.request, 200, "OK"))
    assert tx2.state is ClientState.COMPLETED
    clock.advance(T4)  # Timer K
    assert tx2.state is ClientState.TERMINATED and got == [100, 200]


def test_response_matching_needs_branch_and_method() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.send_request(request("INVITE"), wire, False, on_response=lambda r: None)
    wrong_method = make_response(build_cancel(tx.request), 200, "OK")
    assert not manager.receive_response(wrong_method)
    assert manager.receive_response(make_response(tx.request, 100, "Trying"))


def test_send_request_requires_rfc3261_branch() -> None:
    manager = TransactionManager(ManualClock())
    try:
        manager.send_request(request(branch="old"), Wire(), False, on_response=lambda r: None)
    except ValueError as exc:
        assert str(exc) == "request's top Via has no RFC 3261 branch"
    else:
        raise AssertionError("expected ValueError")


# -- RFC 2543 clients: no RFC 3261 branch (RFC 3261 17.2.3, RFC 4475 3.1.1.7, 3.2.1, 3.3.16) ----

def rfc2543(method: str = "INVITE", via: str = "SIP/2.0/UDP 127.0.0.1:5070", to: str = "<sip:bob@127.0.0.1>",
            cseq: int = 1, cseq_method: str | None = None, uri: str = "sip:bob@127.0.0.1") -> Request:
    r = parse(
        f"{method} {uri} SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@127.0.0.1>;tag=f\r\nTo: {to}\r\n"
        f"Call-ID: old1\r\nCSeq: {cseq} {cseq_method or method}\r\nContent-Length: 0\r\n\r\n".encode()
    )
    assert isinstance(r, Request)
    return r


def test_rfc2543_invite_retransmission_and_ack_match_by_their_fields() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    tx = manager.receive_request(rfc2543(), wire, reliable=False).transaction
    tx.respond(make_response(tx.request, 404, "Not Found", to_tag="t"))
    assert manager.receive_request(rfc2543(), wire, reliable=False) is None  # retransmission
    # an ACK whose To tag is not the one of our response is not ours
    stray = manager.receive_request(rfc2543("ACK", to="<sip:bob@127.0.0.1>;tag=x"), wire, reliable=False)
    assert stray is not None and stray.transaction is None and tx.state is ServerState.COMPLETED
    assert manager.receive_request(rfc2543("ACK", to="<sip:bob@127.0.0.1>;tag=t"), wire, reliable=False) is None
    assert tx.state is ServerState.CONFIRMED
    assert wire.statuses() == [100, 404, 404]


def test_rfc2543_requests_differing_in_one_field_are_new_transactions() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    first = manager.receive_request(rfc2543("OPTIONS"), wire, reliable=False).transaction
    for other in (rfc2543("OPTIONS", cseq=2), rfc2543("OPTIONS", uri="sip:carol@127.0.0.1"),
                  rfc2543("OPTIONS", via="SIP/2.0/UDP 127.0.0.1:5071"),
                  rfc2543("OPTIONS", to="<sip:bob@127.0.0.1>;tag=other"),
                  rfc2543("OPTIONS", via="SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK")):
        delivery = manager.receive_request(other, wire, reliable=False)
        assert delivery is not None and delivery.transaction is not first
    assert manager.receive_request(rfc2543("OPTIONS"), wire, reliable=False) is None


def test_a_bare_magic_cookie_is_matched_by_the_rfc2543_rules() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    bare = "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK"
    manager.receive_request(rfc2543("OPTIONS", via=bare), wire, reliable=False)
    # same bare branch and sent-by, but another request: RFC 3261 matching would merge them
    assert manager.receive_request(rfc2543("OPTIONS", via=bare, cseq=2), wire, reliable=False) is not None


def test_rfc2543_cancel_finds_its_invite_and_2xx_ack_goes_to_the_tu() -> None:
    clock, wire = ManualClock(), Wire()
    manager = TransactionManager(clock)
    invite_tx = manager.receive_request(rfc2543(), wire, reliable=False).transaction
    cancel = manager.receive_request(rfc2543("CANCEL"), wire, reliable=False)
    assert cancel.cancels is invite_tx and cancel.transaction is not invite_tx
    invite_tx.respond(make_response(invite_tx.request, 200, "OK", to_tag="t"))
    ack = manager.receive_request(rfc2543("ACK", to="<sip:bob@127.0.0.1>;tag=t"), wire, reliable=False)
    assert ack is not None and ack.transaction is None and invite_tx.acked  # RFC 6026 7.1
