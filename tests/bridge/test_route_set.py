"""Route sets behind record-routing proxies (RFC 3261 12.1, 12.2.1.1, 8.1.2): which
Record-Route a response carries, and where each in-dialog request is sent."""

from __future__ import annotations

from sipconf.bridge.dialog import Dialog, copy_record_route
from sipconf.sip.message import Request, Response, make_response, parse

VIA = "SIP/2.0/UDP 127.0.0.1:5062"


def invite_through(*record_routes: str) -> Request:
    lines = b"".join(b"Record-Route: " + value.encode() + b"\r\n" for value in record_routes)
    message = parse(
        b"INVITE sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKproxy\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKcaller\r\n"
        + lines +
        b"From: <sip:alice@127.0.0.1>;tag=ft\r\n"
        b"To: <sip:bob@127.0.0.1>\r\n"
        b"Call-ID: rr1\r\nCSeq: 1 INVITE\r\n"
        b"Contact: <sip:alice@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n"
    )
    assert isinstance(message, Request)
    return message


def answered(invite: Request) -> Response:
    ok = make_response(invite, 200, "OK", to_tag="tt")
    copy_record_route(invite, ok)
    ok.add("Contact", "<sip:bob@127.0.0.1:5062>")
    return ok


def test_record_route_lines_are_copied_in_order_and_unchanged() -> None:
    invite = invite_through("<sip:127.0.0.1:5080;lr;r2=on;ftag=ft>", "<sip:127.0.0.1:5081;lr>, <sip:127.0.0.2;lr>")
    ok = answered(invite)
    assert ok.get_all("record-route") == [
        "<sip:127.0.0.1:5080;lr;r2=on;ftag=ft>",
        "<sip:127.0.0.1:5081;lr>, <sip:127.0.0.2;lr>",
    ]
    # Through the wire and back: still the same lines, after the copied Vias.
    reparsed = parse(bytes(ok))
    assert reparsed.get_all("record-route") == ok.get_all("record-route")


def test_no_record_route_no_route_set() -> None:
    invite = invite_through()
    ok = answered(invite)
    assert ok.get_all("record-route") == []
    dialog = Dialog.from_uas(invite, ok)
    bye = dialog.create_request("BYE", VIA)
    assert (dialog.next_hop, bye.uri, bye.get_all("route")) == ("sip:alice@127.0.0.1:5070", "sip:alice@127.0.0.1:5070", [])


def test_uas_loose_route_sends_to_first_route_with_remote_target_as_uri() -> None:
    invite = invite_through("<sip:127.0.0.1:5080;lr>", "<sip:127.0.0.1:5081;transport=tcp;lr>")
    dialog = Dialog.from_uas(invite, answered(invite))
    bye = dialog.create_request("BYE", VIA)
    assert dialog.next_hop == "sip:127.0.0.1:5080;lr"
    assert bye.uri == "sip:alice@127.0.0.1:5070"
    assert bye.get_all("route") == ["<sip:127.0.0.1:5080;lr>", "<sip:127.0.0.1:5081;transport=tcp;lr>"]


def test_uac_route_set_is_the_record_route_reversed() -> None:
    invite = invite_through()
    ok = make_response(invite, 200, "OK", to_tag="tt")
    ok.add("Record-Route", "<sip:127.0.0.1:5081;lr>")
    ok.add("Record-Route", "<sip:127.0.0.1:5080;transport=tcp;lr>")
    ok.add("Contact", "<sip:bob@127.0.0.1:5062>")
    dialog = Dialog.from_uac(invite, ok)
    assert dialog.route_set == ["<sip:127.0.0.1:5080;transport=tcp;lr>", "<sip:127.0.0.1:5081;lr>"]
    assert dialog.next_hop == "sip:127.0.0.1:5080;transport=tcp;lr"
    ack = dialog.create_ack(1, VIA)
    assert ack.uri == "sip:bob@127.0.0.1:5062"
    assert ack.get_all("route") == dialog.route_set


def test_strict_router_becomes_the_request_uri_and_remote_target_the_last_route() -> None:
    invite = invite_through("<sip:127.0.0.1:5080>", "<sip:127.0.0.1:5081;lr>")
    dialog = Dialog.from_uas(invite, answered(invite))
    refer = dialog.create_request("REFER", VIA, [("Refer-To", "<sip:carol@127.0.0.1>")])
    assert dialog.next_hop == "sip:127.0.0.1:5080"
    assert refer.uri == "sip:127.0.0.1:5080"
    assert refer.get_all("route") == ["<sip:127.0.0.1:5081;lr>", "<sip:alice@127.0.0.1:5070>"]


def test_target_refresh_keeps_the_route_set_and_the_next_hop() -> None:
    invite = invite_through("<sip:127.0.0.1:5080;lr>")
    dialog = Dialog.from_uas(invite, answered(invite))
    reinvite = parse(bytes(invite).replace(b"1 INVITE", b"2 INVITE").replace(
        b"<sip:alice@127.0.0.1:5070>", b"<sip:alice@127.0.0.1:5099>").replace(b"To: <sip:bob@127.0.0.1>",
                                                                              b"To: <sip:bob@127.0.0.1>;tag=tt"))
    assert isinstance(reinvite, Request)
    dialog.receive_request(reinvite)
    bye = dialog.create_request("BYE", VIA)
    assert (dialog.next_hop, bye.uri) == ("sip:127.0.0.1:5080;lr", "sip:alice@127.0.0.1:5099")
