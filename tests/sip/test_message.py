"""SIP message parsing: stored good messages round-trip byte for byte, corrupted ones fail
with exact text, and the typed header views read what RFC 3261 says they mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipconf.sip.headers import CSeq, NameAddr, Via, split_commas
from sipconf.sip.message import Request, Response, check_mandatory, make_response, parse
from sipconf.sip.uri import URI

DATA = Path(__file__).parent / "data"
GOOD = sorted((DATA / "good").glob("*.sip"))

BAD = {
    "bad-content-length.sip": "invalid Content-Length: '-1'",
    "bad-header-name.sip": "line 3: invalid header name 'Max Forwards'",
    "bad-method.sip": "invalid method: 'B@E'",
    "bad-status.sip": "invalid status line: 'SIP/2.0 4x7 Unauthorized'",
    "bad-version.sip": "unsupported SIP version: 'SIP/3.0'",
    "continuation-first.sip": "line 2: continuation line before any header",
    "empty.sip": "empty message",
    "header-without-colon.sip": "line 3: header has no colon",
    "no-blank-line.sip": "message has no blank line after the headers",
    "not-utf8.sip": "header section is not UTF-8 (byte 260)",
    "request-line-parts.sip": "invalid request line: 'BYE  sip:alice@127.0.0.1:5070 SIP/2.0'",
    "short-body.sip": "body is shorter than Content-Length (0 < 10)",
}


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_messages_round_trip_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    message = parse(data)
    assert bytes(message) == data
    assert parse(bytes(message)) == message


def test_every_corrupted_message_has_an_expected_error() -> None:
    assert sorted(p.name for p in (DATA / "bad").glob("*.sip")) == sorted(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_corrupted_messages_fail_with_exact_text(name: str) -> None:
    with pytest.raises(ValueError) as info:
        parse((DATA / "bad" / name).read_bytes())
    assert str(info.value) == BAD[name]


def test_request_views() -> None:
    invite = parse((DATA / "good" / "invite.sip").read_bytes())
    assert isinstance(invite, Request)
    assert invite.method == "INVITE"
    assert invite.request_uri.user == "+15105550100"
    assert invite.request_uri.port == 5060
    assert invite.call_id == "a84b4c76e66710@127.0.0.1"
    assert invite.cseq == CSeq(314159, "INVITE")
    assert invite.from_.display == "Alice"
    assert invite.from_.tag == "1928301774"
    assert invite.to.tag is None
    assert invite.top_via.branch == "z9hG4bK-524287-1---a1b2c3"
    assert invite.top_via.param("rport") == ""
    assert invite.get("x-customer-tier") == "gold"
    assert invite.body.startswith(b"v=0\r\n")
    assert int(invite.get("content-length")) == len(invite.body)


def test_compact_forms_and_multi_valued_headers_keep_order() -> None:
    ok = parse((DATA / "good" / "ok-compact.sip").read_bytes())
    assert isinstance(ok, Response)
    assert (ok.status, ok.reason) == (200, "OK")
    vias = [Via.parse(value) for value in ok.values("via")]
    assert [v.sent_by for v in vias] == ["127.0.0.1:5070", "127.0.0.1:5080", "127.0.0.1:5090"]
    assert vias[2].transport == "TCP"
    assert ok.call_id == ok.get("Call-ID") == ok.get("i")
    assert ok.to.display == "Bob, the builder"
    assert ok.to.tag == "a6c85cf"
    assert ok.values("supported") == ["timer", "replaces"]
    assert ok.contacts[0].uri.param("transport") == "tcp"
    assert ok.headers[0][0] == "v"  # names are kept as written


def test_addr_spec_parameters_belong_to_the_header() -> None:
    refer = parse((DATA / "good" / "refer.sip").read_bytes())
    assert refer.from_.uri == URI(user="bob", host="127.0.0.1")
    assert refer.from_.tag == "x1"
    assert refer.top_via.host == "[::1]"
    assert NameAddr.parse(refer.get("refer-to") or "").uri == URI(scheme="tel", user="+15105550199")


def test_folded_header_is_joined() -> None:
    data = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nSubject: I know you're there,\r\n   pick up the phone\r\nContent-Length: 0\r\n\r\n"
    assert parse(data).get("subject") == "I know you're there, pick up the phone"


def test_body_longer_than_content_length_is_truncated() -> None:
    data = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nContent-Length: 2\r\n\r\nabcdef"
    assert parse(data).body == b"ab"


def test_leading_crlf_is_ignored() -> None:
    assert parse(b"\r\n\r\nOPTIONS sip:a@127.0.0.1 SIP/2.0\r\nl: 0\r\n\r\n").method == "OPTIONS"


def test_too_many_headers() -> None:
    data = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n" + b"X-A: 1\r\n" * 5 + b"\r\n"
    with pytest.raises(ValueError) as info:
        parse(data, max_headers=4)
    assert str(info.value) == "too many headers (more than 4)"


def test_missing_header_views_raise_exact_text() -> None:
    message = parse(b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n\r\n")
    for view, text in [("call_id", "missing Call-ID header"), ("cseq", "missing CSeq header"),
                       ("from_", "missing From header"), ("to", "missing To header"),
                       ("top_via", "missing Via header")]:
        with pytest.raises(ValueError) as info:
            getattr(message, view)
        assert str(info.value) == text


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@127.0.0.1",
        "sip:alice:secret@127.0.0.1:5060;transport=tcp;lr?subject=hi",
        "sips:[::1]:5061",
        "sip:+15105550100@127.0.0.1;user=phone",
        "tel:+15105550100;phone-context=example.test",
    ],
)
def test_uri_round_trip(text: str) -> None:
    assert str(URI.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("alice@127.0.0.1", "invalid URI: 'alice@127.0.0.1'"),
        ("sip:alice@", "invalid URI host: 'sip:alice@'"),
        ("sip:alice@127.0.0.1:99999", "invalid URI port: 'sip:alice@127.0.0.1:99999'"),
        ("sip:[::1", "invalid URI host: 'sip:[::1'"),
    ],
)
def test_uri_errors(text: str, error: str) -> None:
    with pytest.raises(ValueError) as info:
        URI.parse(text)
    assert str(info.value) == error


@pytest.mark.parametrize(
    ("parser", "text", "error"),
    [
        (Via.parse, "SIP/2.0 127.0.0.1", "invalid Via: 'SIP/2.0 127.0.0.1'"),
        (Via.parse, "SIP/2.0/UDP 127.0.0.1:x", "invalid Via sent-by: 'SIP/2.0/UDP 127.0.0.1:x'"),
        (CSeq.parse, "1", "invalid CSeq: '1'"),
        (CSeq.parse, "2147483648 INVITE", "invalid CSeq: '2147483648 INVITE'"),
        (NameAddr.parse, '"Bob <sip:b@h>', "unterminated display name: '\"Bob <sip:b@h>'"),
        (NameAddr.parse, "Bob <sip:b@h", "missing '>' in address: 'Bob <sip:b@h'"),
    ],
)
def test_header_errors(parser, text: str, error: str) -> None:
    with pytest.raises(ValueError) as info:
        parser(text)
    assert str(info.value) == error


def test_name_addr_display_round_trip_and_tag() -> None:
    addr = NameAddr.parse('"A \\"quoted\\" name" <sip:a@127.0.0.1>;tag=1')
    assert addr.display == 'A "quoted" name'
    assert str(addr.with_tag("2")) == '"A \\"quoted\\" name" <sip:a@127.0.0.1>;tag=2'
    assert str(NameAddr.parse("Bob <sip:b@127.0.0.1>")) == '"Bob" <sip:b@127.0.0.1>'


def test_split_commas_respects_quotes_and_brackets() -> None:
    assert split_commas('"a, b" <sip:x@h;p=1,2>, <sip:y@h>') == ['"a, b" <sip:x@h;p=1,2>', "<sip:y@h>"]


def test_make_response_copies_rfc3261_headers_and_adds_to_tag() -> None:
    invite = parse((DATA / "good" / "invite.sip").read_bytes())
    assert isinstance(invite, Request)
    response = make_response(invite, 180, "Ringing", to_tag="abc")
    assert [n for n, _ in response.headers] == ["Via", "From", "To", "Call-ID", "CSeq"]
    assert response.to.tag == "abc"
    assert bytes(response).endswith(b"Content-Length: 0\r\n\r\n")


def test_set_body_keeps_content_length_in_step() -> None:
    message = Request(method="MESSAGE", uri="sip:a@127.0.0.1", headers=[("Content-Length", "0")])
    message.set_body(b"hello", "text/plain")
    assert message.get("l") == "5"
    assert parse(bytes(message)).body == b"hello"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ((b"Call-ID: a84b4c76e66710@127.0.0.1\r\n", b""), "missing Call-ID header"),
        ((b"CSeq: 314159 INVITE", b"CSeq: 314159 INVITE\r\nCSeq: 314160 INVITE"), "more than one CSeq header"),
        ((b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"), "CSeq method BYE does not match INVITE"),
        ((b"To: <sip:+15105550100@127.0.0.1>", b"To: <nothing>"), "invalid URI: 'nothing'"),
    ],
)
def test_check_mandatory(change: tuple[bytes, bytes], error: str) -> None:
    data = (DATA / "good" / "invite.sip").read_bytes()
    check_mandatory(parse(data))
    with pytest.raises(ValueError) as info:
        check_mandatory(parse(data.replace(*change)))
    assert str(info.value) == error


def test_typed_views_are_parsed_once_and_follow_header_changes():
    msg = parse(b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
                b"From: <sip:a@127.0.0.1>;tag=f\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c\r\nCSeq: 7 OPTIONS\r\n\r\n")
    assert msg.to is msg.to and msg.from_ is msg.from_ and msg.cseq is msg.cseq and msg.top_via is msg.top_via
    msg.set("To", "<sip:b@127.0.0.1>;tag=t")
    assert msg.to.tag == "t"
    msg.headers[0] = ("Via", "SIP/2.0/UDP 127.0.0.2:5071;branch=z9hG4bK2")
    assert (msg.top_via.host, msg.top_via.branch) == ("127.0.0.2", "z9hG4bK2")
    msg.remove("CSeq")
    with pytest.raises(ValueError, match="^missing CSeq header$"):
        msg.cseq
