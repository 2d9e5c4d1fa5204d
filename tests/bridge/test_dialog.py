"""Dialogs (RFC 3261 12): creation on both sides, in-dialog requests, route sets, CSeq."""

from __future__ import annotations

import pytest

from sipconf.bridge.dialog import Dialog, DialogError
from sipconf.sip.message import Request, Response, make_response, parse

INVITE = parse(
    b"INVITE sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa\r\n"
    b"Record-Route: <sip:p1.test;lr>, <sip:p2.test;lr>\r\n"
    b"From: \"Alice\" <sip:alice@127.0.0.1>;tag=ft\r\n"
    b"To: <sip:bob@127.0.0.1>\r\n"
    b"Call-ID: d1\r\nCSeq: 5 INVITE\r\n"
    b"Contact: <sip:alice@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n"
)
VIA = "SIP/2.0/UDP 127.0.0.1:5062"


def uas_dialog() -> Dialog:
    assert isinstance(INVITE, Request)
    ok = make_response(INVITE, 200, "OK", to_tag="tt")
    ok.add("Record-Route", "<sip:p1.test;lr>, <sip:p2.test;lr>")
    ok.add("Contact", "<sip:bob@127.0.0.1:5062>")
    return Dialog.from_uas(INVITE, ok, local_contact="<sip:bob@127.0.0.1:5062>")


def test_uas_bye_goes_to_remote_target_via_route_set() -> None:
    dialog = uas_dialog()
    bye = dialog.create_request("BYE", VIA)
    assert bye.uri == "sip:alice@127.0.0.1:5070"
    assert bye.get_all("route") == ["<sip:p1.test;lr>", "<sip:p2.test;lr>"]
    assert str(bye.from_) == "<sip:bob@127.0.0.1>;tag=tt"
    assert str(bye.to) == '"Alice" <sip:alice@127.0.0.1>;tag=ft'
    assert bye.cseq.seq == 1 and bye.call_id == "d1"
    assert bye.top_via.branch.startswith("z9hG4bK")
    assert dialog.create_request("NOTIFY", VIA, body=b"SIP/2.0 200 OK\r\n", content_type="message/sipfrag").cseq.seq == 2


def test_uac_dialog_and_ack_for_2xx() -> None:
    assert isinstance(INVITE, Request)
    ok = parse(bytes(make_response(INVITE, 200, "OK", to_tag="tt")) .replace(b"Content-Length: 0", b"Record-Route: <sip:p1.test;lr>, <sip:p2.test;lr>\r\nContact: <sip:bob@127.0.0.1:5062>\r\nContent-Length: 0"))
    assert isinstance(ok, Response)
    dialog = Dialog.from_uac(INVITE, ok)
    assert dialog.route_set == ["<sip:p2.test;lr>", "<sip:p1.test;lr>"]
    ack = dialog.create_ack(5, VIA)
    assert (ack.method, ack.cseq.seq, ack.uri) == ("ACK", 5, "sip:bob@127.0.0.1:5062")
    assert ack.top_via.branch != INVITE.top_via.branch
    assert dialog.create_request("BYE", VIA).cseq.seq == 6


def test_strict_route_puts_remote_target_last() -> None:
    dialog = uas_dialog()
    dialog.route_set = ["<sip:strict.test>", "<sip:p2.test;lr>"]
    bye = dialog.create_request("BYE", VIA)
    assert bye.uri == "sip:strict.test"
    assert bye.get_all("route") == ["<sip:p2.test;lr>", "<sip:alice@127.0.0.1:5070>"]


def test_lower_remote_cseq_is_rejected_with_500() -> None:
    dialog = uas_dialog()
    bye = parse(bytes(INVITE).replace(b"INVITE sip", b"BYE sip").replace(b"5 INVITE", b"4 BYE"))
    assert isinstance(bye, Request)
    with pytest.raises(DialogError) as info:
        dialog.receive_request(bye)
    assert (info.value.status, str(info.value)) == (500, "500 Server Internal Error")


def test_matches_checks_call_id_and_both_tags() -> None:
    dialog = uas_dialog()
    bye = dialog.create_request("BYE", VIA)
    # A request *from* the peer has the tags the other way round.
    incoming = parse(bytes(bye).replace(b";tag=tt", b";tag=XX").replace(b";tag=ft", b";tag=tt").replace(b";tag=XX", b";tag=ft"))
    assert dialog.matches(incoming)
    assert not dialog.matches(bye)


def test_missing_contact_is_an_error() -> None:
    assert isinstance(INVITE, Request)
    ok = make_response(INVITE, 200, "OK", to_tag="tt")
    with pytest.raises(ValueError) as info:
        Dialog.from_uac(INVITE, ok)
    assert str(info.value) == "response has no Contact"
