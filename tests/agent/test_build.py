"""The agent's message building, framing and digit packets (pure: no sockets)."""

from __future__ import annotations

import pytest

from sipconf.agent import decode_digits, dtmf_packets, frame
from sipconf.agent.build import Dialog, ack_for_failure, answers, cancel_for, malform, response, sipfrag
from sipconf.sip.message import Request, Response, parse
from sipconf.sip.rtp import RtpPacket, TelephoneEvent

INVITE = parse(
    b"INVITE sip:+15550100@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKinv;rport\r\n"
    b"Max-Forwards: 70\r\nFrom: <sip:+15550111@127.0.0.9>;tag=from1\r\nTo: <sip:+15550100@127.0.0.1>\r\n"
    b"Call-ID: call-1\r\nCSeq: 3 INVITE\r\nContact: <sip:agent@127.0.0.9:5070>\r\nContent-Length: 0\r\n\r\n")


def test_response_copies_the_request_and_tags_all_but_100():
    trying = response(INVITE, 100, tag="t1")
    busy = response(INVITE, 486, tag="t1")
    assert (trying.reason, trying.to.tag) == ("Trying", None)
    assert (busy.reason, busy.to.tag, busy.call_id, busy.get("via")) == ("Busy Here", "t1", "call-1", INVITE.get("via"))
    assert response(INVITE, 599).reason == "Status"
    assert response(INVITE, 200, "Fine", body=b"v=0\r\n").get("content-type") == "application/sdp"


def test_failure_ack_and_cancel_stay_in_the_invite_transaction():
    busy = response(INVITE, 486, tag="t1")
    ack, cancel = ack_for_failure(INVITE, busy), cancel_for(INVITE)
    assert (ack.uri, ack.top_via.branch, ack.get("cseq"), ack.to.tag) == (INVITE.uri, "z9hG4bKinv", "3 ACK", "t1")
    assert (cancel.top_via.branch, cancel.get("cseq"), cancel.to.tag) == ("z9hG4bKinv", "3 CANCEL", None)


def test_dialog_requests_from_either_side():
    ok = response(INVITE, 200, tag="t2", headers=[("Contact", "<sip:callee@127.0.0.1:5060>")])
    caller = Dialog.as_caller(INVITE, ok)
    bye = caller.request("BYE", "SIP/2.0/UDP 127.0.0.9:5070")
    assert (bye.uri, bye.get("cseq"), bye.from_.tag, bye.to.tag) == ("sip:callee@127.0.0.1:5060", "4 BYE", "from1", "t2")
    assert bye.get("contact") is None and bye.top_via.branch != "z9hG4bKinv"
    ack = caller.request("ACK", "SIP/2.0/UDP 127.0.0.9:5070", cseq=3)
    assert ack.get("cseq") == "3 ACK" and caller.cseq == 4
    callee = Dialog.as_callee(INVITE, ok)
    notify = callee.request("NOTIFY", "SIP/2.0/UDP 127.0.0.1:5060", body=sipfrag(200),
                            content_type="message/sipfrag;version=2.0")
    assert (notify.uri, notify.from_.tag, notify.to.tag, notify.get("cseq")) == (
        "sip:agent@127.0.0.9:5070", "t2", "from1", "1 NOTIFY")
    assert notify.body == b"SIP/2.0 200 OK\r\n" and notify.get("contact") == "<sip:callee@127.0.0.1:5060>"


def test_answers_matches_by_branch_and_method_or_by_call_id_without_a_via():
    ok = response(INVITE, 200, tag="t")
    assert answers(INVITE, ok)
    to_cancel = response(cancel_for(INVITE), 200, tag="t")
    assert not answers(INVITE, to_cancel)
    bare = Response(headers=[("Call-ID", "call-1"), ("CSeq", "3 INVITE")], status=400, reason="Bad Request")
    assert answers(INVITE, bare)


@pytest.mark.parametrize(("kind", "check"), [
    ("bad-content-length", lambda data: b"Content-Length: 100\r\n" in data),
    ("missing-call-id", lambda data: b"Call-ID" not in data),
    ("bad-start-line", lambda data: data.startswith(b"INVITE sip:+15550100@127.0.0.1:5060\r\n")),
])
def test_malformed_invites(kind, check):
    broken = malform(bytes(INVITE), kind)
    assert check(broken)
    if kind != "missing-call-id":
        with pytest.raises(ValueError):
            parse(broken)


def test_unknown_malformation_is_refused():
    with pytest.raises(ValueError, match="unknown malformation 'nope'"):
        malform(bytes(INVITE), "nope")


def test_tcp_stream_framing_by_content_length():
    data = bytes(INVITE).replace(b"Content-Length: 0", b"Content-Length: 5")
    stream = bytearray(b"\r\n" + data + b"v=0")
    assert frame(stream) is None  # the body is two bytes short
    stream += b"\r\nSIP/2.0 100"
    first = frame(stream)
    assert first is not None and first.startswith(b"INVITE ") and first.endswith(b"\r\n\r\nv=0\r\n")
    assert stream == bytearray(b"SIP/2.0 100") and frame(stream) is None


def test_dtmf_packets_are_paced_updates_then_three_end_packets():
    timed = dtmf_packets("1#", duration_ms=60, gap_ms=40, ssrc=7, sequence=65535, timestamp=1000)
    packets = [RtpPacket.parse(data) for _, data in timed]
    events = [TelephoneEvent.parse(p.payload) for p in packets]
    assert len(packets) == 2 * (3 + 3)
    assert [p.marker for p in packets[:6]] == [True, False, False, False, False, False]
    assert [e.duration for e in events[:6]] == [160, 320, 480, 480, 480, 480]
    assert [e.end for e in events[:6]] == [False, False, False, True, True, True]
    assert [p.sequence for p in packets[:3]] == [65535, 0, 1]  # wraps
    assert {p.timestamp for p in packets[:6]} == {1000} and {p.timestamp for p in packets[6:]} == {1800}
    assert [pause for pause, _ in timed[:7]] == [0.0, 0.02, 0.02, 0.02, 0.0, 0.0, 0.04]
    assert decode_digits(packets) == "1#"
    assert decode_digits(packets, payload_type=96) == ""
