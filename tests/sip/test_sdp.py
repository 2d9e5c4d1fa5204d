"""SDP offer/answer: PCMU/PCMA + telephone-event, offerer's order, no common codec, and the
answer's direction (RFC 3264 6.1: hold)."""

from __future__ import annotations

import pytest

from sipconf.sip.sdp import NoCommonCodec, SessionDescription, answer_direction, build_answer, build_offer, negotiate

SIPP_OFFER = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def test_parse_sipp_offer() -> None:
    sd = SessionDescription.parse(SIPP_OFFER)
    assert (sd.address, sd.audio_port, sd.payload_types) == ("127.0.0.1", 6000, [0])


def test_offer_round_trips() -> None:
    offer = build_offer("127.0.0.1", 40000, session_id=7)
    text = bytes(offer)
    assert text == (
        b"v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
    assert SessionDescription.parse(text) == offer


def test_answer_keeps_offerer_order_and_payload_numbers() -> None:
    offer = SessionDescription.parse(
        b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 5004 RTP/AVP 18 8 0 96\r\n"
        b"c=IN IP4 127.0.0.2\r\na=rtpmap:96 telephone-event/8000\r\n"
    )
    answer = negotiate(offer)
    assert (answer.codec.payload_type, answer.codec.name) == (8, "PCMA")
    assert answer.event_payload_type == 96
    assert (answer.remote_address, answer.remote_port) == ("127.0.0.2", 5004)
    sd = build_answer(answer, "127.0.0.1", 41000)
    assert sd.payload_types == [8, 96]
    assert sd.fmtp == {96: "0-16"}


def test_telephone_event_at_another_rate_is_not_dtmf() -> None:
    offer = SessionDescription.parse(b"v=0\r\nm=audio 5004 RTP/AVP 0 97\r\na=rtpmap:97 telephone-event/48000\r\n")
    assert negotiate(offer).event_payload_type is None


def test_no_common_codec() -> None:
    offer = SessionDescription.parse(b"v=0\r\nm=audio 5004 RTP/AVP 18 101\r\na=rtpmap:101 telephone-event/8000\r\n")
    with pytest.raises(NoCommonCodec) as info:
        negotiate(offer)
    assert str(info.value) == "no common codec in offer (offered: 18 101)"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"v=0\r\ns=-\r\n", "SDP has no audio m= line"),
        (b"v=0\r\nbogus\r\n", "SDP line 2: expected <type>=<value>"),
        (b"v=0\r\nm=audio x RTP/AVP 0\r\n", "SDP line 2: invalid port 'x'"),
        (b"v=0\r\nm=audio 1 RTP/AVP zero\r\n", "SDP line 2: invalid payload type list"),
        (b"v=0\r\nc=IN IP4\r\nm=audio 1 RTP/AVP 0\r\n", "SDP line 2: invalid c= line"),
        (b"v=0\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:x PCMU/8000\r\n", "SDP line 3: invalid rtpmap"),
        (b"\xff", "SDP is not UTF-8"),
    ],
)
def test_sdp_errors(body: bytes, error: str) -> None:
    with pytest.raises(ValueError) as info:
        SessionDescription.parse(body)
    assert str(info.value) == error


def offer_with(session: str = "", media: str = "") -> SessionDescription:
    """An offer with `session` lines before its m= line and `media` lines after it."""
    return SessionDescription.parse(
        b"v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + session.encode()
        + b"m=audio 5004 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" + media.encode()
    )


@pytest.mark.parametrize(
    ("session", "media", "answered"),
    [
        ("", "", "sendrecv"),  # no direction attribute: sendrecv (RFC 3264 5.1)
        ("", "a=sendrecv\r\n", "sendrecv"),
        ("", "a=sendonly\r\n", "recvonly"),  # hold (RFC 3264 8.4)
        ("", "a=recvonly\r\n", "sendonly"),
        ("", "a=inactive\r\n", "inactive"),
        ("a=sendonly\r\n", "", "recvonly"),  # at session level it covers the stream (RFC 4566 6)
        ("a=inactive\r\n", "a=sendrecv\r\n", "sendrecv"),  # the stream's own attribute wins
    ],
)
def test_the_answer_mirrors_the_offered_direction(session: str, media: str, answered: str) -> None:
    answer = negotiate(offer_with(session, media))
    assert answer.direction == answered
    text = bytes(build_answer(answer, "127.0.0.1", 41000))
    assert text.endswith(f"a=ptime:20\r\na={answered}\r\n".encode())
    assert text.count(b"a=") == 5  # rtpmap x2, fmtp, ptime, the direction: one direction only


def test_a_session_level_direction_prints_back() -> None:
    sd = offer_with(session="a=sendonly\r\n")
    assert (sd.session_direction, sd.direction) == ("sendonly", "sendonly")
    text = bytes(sd)
    assert b"t=0 0\r\na=sendonly\r\nm=audio" in text and text.endswith(b"a=sendonly\r\n")
    assert SessionDescription.parse(text) == sd


@pytest.mark.parametrize(("offered", "answered"), [("sendrecv", "sendrecv"), ("sendonly", "recvonly"),
                                                   ("recvonly", "sendonly"), ("inactive", "inactive")])
def test_answer_direction(offered: str, answered: str) -> None:
    assert answer_direction(offered) == answered


def test_answer_direction_refuses_a_word_that_is_no_direction() -> None:
    with pytest.raises(ValueError) as info:
        answer_direction("hold")
    assert str(info.value) == "unknown SDP direction 'hold'"


def test_a_later_answer_carries_its_session_version() -> None:
    answer = negotiate(offer_with(media="a=sendonly\r\n"))
    assert bytes(build_answer(answer, "127.0.0.1", 41000, session_id=7)).startswith(
        b"v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\n")
    assert bytes(build_answer(answer, "127.0.0.1", 41000, session_id=7, version=8)).startswith(
        b"v=0\r\no=- 7 8 IN IP4 127.0.0.1\r\n")
