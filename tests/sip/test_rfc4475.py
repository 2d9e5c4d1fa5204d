"""RFC 4475 torture messages at the parser: each stored message parses (with the headers a
transaction needs) or fails with the exact text of `data/rfc4475/expected.toml`, and the
well-formed ones read as the RFC says they mean."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sipconf.sip.headers import NameAddr, Via
from sipconf.sip.message import Message, Request, Response, check_mandatory, parse

DATA = Path(__file__).parent / "data" / "rfc4475"
TABLE = tomllib.loads((DATA / "expected.toml").read_text())
OUTCOMES = {"drop", "waits"}
FIELDS = {"section", "valid", "error", "expect", "tcp", "tcp_closes", "transports", "reply_port", "headers",
          "unanswered", "why"}



def vias_of(msg: Message) -> list[Via]:
    return [Via.parse(value) for value in msg.values("via")]

def load(name: str) -> Request | Response:
    message = parse((DATA / f"{name}.sip").read_bytes())
    check_mandatory(message)
    return message


def test_every_message_has_one_table_entry() -> None:
    assert sorted(p.stem for p in DATA.glob("*.sip")) == sorted(TABLE)
    assert len(TABLE) == 49  # 13 valid, 19 invalid, 1 transaction, 16 application


@pytest.mark.parametrize("name", sorted(TABLE))
def test_table_entry_is_complete(name: str) -> None:
    entry = TABLE[name]
    assert set(entry) <= FIELDS and {"section", "expect", "why"} <= set(entry)
    for outcome in (entry["expect"], entry.get("tcp", entry["expect"])):
        assert outcome in OUTCOMES or (isinstance(outcome, int) and 200 <= outcome <= 699)
    assert set(entry.get("transports", ["udp", "tcp"])) <= {"udp", "tcp"}
    if entry.get("valid"):
        assert "error" not in entry and entry["expect"] != 400  # RFC 4475 3.1.1: well-formed


@pytest.mark.parametrize("name", sorted(TABLE))
def test_parser_accepts_or_refuses_as_the_table_says(name: str) -> None:
    error = TABLE[name].get("error")
    if error is None:
        load(name)
        return
    with pytest.raises(ValueError) as info:
        load(name)
    assert str(info.value) == error


def test_wsinv_folding_lws_and_compact_forms() -> None:
    msg = load("wsinv")
    assert isinstance(msg, Request) and msg.method == "INVITE"
    assert [(v.transport, v.host, v.branch) for v in vias_of(msg)] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert (msg.cseq.seq, msg.cseq.method) == (9, "INVITE")
    assert msg.get("max-forwards") == "0068" and msg.get("subject") == ""
    assert msg.from_.display == 'J Rosenberg \\"' and msg.from_.tag == "98asjd8"
    assert msg.to.tag == "1918181833n" and msg.request_uri.param("unknownparam") == ""
    assert msg.get("newfangledheader") == "newfangled value continued newfangled value"
    assert msg.get("unknownheaderwithunusualvalue") == ";;,,;;,;"
    [contact] = msg.contacts
    assert contact.display == 'Quoted string ""' and contact.param("q") == "0.33"
    assert contact.param("newparam") == "newvalue" and contact.param("secondparam") == ""
    assert len(msg.body) == 150


def test_intmeth_unusual_characters() -> None:
    msg = load("intmeth")
    assert isinstance(msg, Request)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~" == msg.cseq.method
    uri = msg.request_uri
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)" and uri.headers is None
    assert msg.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.from_.tag == "_token~1'+`*%!-." and msg.from_.param("fromParam''~+*_!.-%") == '"работающий"'
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_escapes_are_kept_as_written() -> None:
    esc01 = load("esc01")
    assert esc01.request_uri.user == "sips%3Auser%40example.com" and esc01.request_uri.host == "example.net"
    assert esc01.contacts[0].uri.param("n%61me") == "v%61lue%25%34%31"
    escnull = load("escnull")
    assert [c.uri.user for c in escnull.contacts] == ["%00", "%00%00"]
    esc02 = load("esc02")
    assert isinstance(esc02, Request) and esc02.method == "RE%47IST%45R"
    assert [c.uri.user for c in esc02.contacts] == ["alias1", "alias3"]  # C%6Fntact is another header
    assert load("semiuri").request_uri.user == "user;par=u%40example.net"


def test_long_values_and_many_vias() -> None:
    msg = load("longreq")
    assert len(vias_of(msg)) == 34 and msg.top_via.branch is None
    assert vias_of(msg)[-1].branch == "very" + "long" * 50 + "branchvalue"
    assert msg.to.uri.port == 6000 and msg.from_.tag == "12" + "982" * 50 + "424"


def test_datagram_extra_octets_and_binary_body() -> None:
    assert load("dblreq").body == b""
    mpart = load("mpart01")
    assert len(mpart.body) == 553 and b"\x00" in mpart.body and mpart.body.endswith(b"--7a9cbec02ceef655--\r\n")


def test_responses_reason_phrases() -> None:
    unreason = load("unreason")
    assert isinstance(unreason, Response) and unreason.status == 200
    assert unreason.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    noreason = load("noreason")
    assert isinstance(noreason, Response) and (noreason.status, noreason.reason) == (100, "")


def test_other_transports_and_schemes_parse() -> None:
    assert [v.transport for v in vias_of(load("transports"))] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    unksm2 = load("unksm2")
    assert (unksm2.to.uri.scheme, unksm2.from_.uri.scheme, unksm2.contacts[0].uri.scheme) == ("isbn", "http", "name")
    assert load("lwsdisp").from_.display == "caller"


@pytest.mark.parametrize(("text", "display"), [
    ("caller<sip:c@h>", "caller"),
    ("José Ruiz <sip:j@h>", "José Ruiz"),
    ('"Bell, Alexander" <sip:a@h>', "Bell, Alexander"),
])
def test_unquoted_display_names_that_are_allowed(text: str, display: str) -> None:
    assert NameAddr.parse(text).display == display


@pytest.mark.parametrize("text", ["Bell, Alexander <sip:a@h>", "a;b <sip:a@h>", 'a"b <sip:a@h>'])
def test_unquoted_display_names_with_delimiters_are_refused(text: str) -> None:
    with pytest.raises(ValueError) as info:
        NameAddr.parse(text)
    assert str(info.value) == f"display name must be quoted: {text!r}"
