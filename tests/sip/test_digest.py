"""Digest auth: LiveKit's server handshake (docs/livekit.md#auth-step) and the client
(docs/livekit.md#dialling)."""

from __future__ import annotations

import hashlib

import pytest

from sipconf.sip.digest import DigestServer, answer_challenge, challenge_headers, credentials_username, parse_digest
from sipconf.sip.message import Request


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def invite(call_id: str = "c1", uri: str = "sip:b@127.0.0.1", from_: str = "<sip:a@127.0.0.1>;tag=f",
           to: str = "<sip:b@127.0.0.1>", **headers: str) -> Request:
    hs = [("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1"), ("From", from_),
          ("To", to), ("Call-ID", call_id), ("CSeq", "1 INVITE")]
    hs += [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Request(method="INVITE", uri=uri, headers=hs)


class Clock:
    """The injected clock: seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> float:
        return self.seconds


def server(clock: Clock | None = None) -> DigestServer:
    return DigestServer(now_us=lambda: 1700000000123456, now=(clock or Clock()).now)


def answer(srv: DigestServer, password: str = "pw", call_id: str = "c1", uri: str = "sip:b@127.0.0.1",
           **fields: str) -> str:
    """Challenge an INVITE of `call_id` and answer the challenge."""
    challenge = srv.check(invite(call_id, **fields), "acme", "pw", "LiveKit").header[1]
    return answer_challenge(challenge, "INVITE", uri, "acme", password)


def test_first_invite_gets_407_with_livekit_challenge() -> None:
    verdict = server().check(invite(), "acme", "pw", "LiveKit")
    assert (verdict.accepted, verdict.status, verdict.reason) == (False, 407, "Unauthorized")
    assert verdict.header == ("Proxy-Authenticate", 'Digest realm="LiveKit", nonce="1700000000123456-c1", algorithm=MD5')
    response = verdict.response_for(invite(), to_tag="t")
    assert response.get("Proxy-Authenticate") == verdict.header[1]
    assert response.to.tag == "t"


def test_client_answer_is_accepted_by_server() -> None:
    srv = server()
    challenge = srv.check(invite(), "acme", "pw", "LiveKit").header[1]
    creds = answer_challenge(challenge, "INVITE", "sip:b@127.0.0.1", "acme", "pw")
    assert srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit").accepted


def test_server_verdicts_in_livekit_order() -> None:
    srv = server()
    good = answer_challenge('Digest realm="LiveKit", nonce="1700000000123456-c1"', "INVITE", "sip:b@127.0.0.1", "acme", "pw")
    # no remembered challenge for this Call-ID -> Bad credentials (after the username check)
    assert srv.check(invite(Proxy_Authorization=good), "acme", "pw", "LiveKit").reason == "Bad credentials"
    cases = {
        "Basic abc": (401, "Bad credentials", False),
        'Digest username="acme", realm="LiveKit", nonce="x': (401, "Bad credentials", False),
        good.replace('username="acme"', 'username="eve"'): (401, "Unauthorized", True),
    }
    srv.check(invite(), "acme", "pw", "LiveKit")
    for creds, (status, reason, wrong) in cases.items():
        verdict = srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit")
        assert (verdict.status, verdict.reason, verdict.wrong_answer) == (status, reason, wrong), creds
    assert srv.check(invite(Proxy_Authorization=good), "acme", "pw", "LiveKit").accepted
    assert srv.counters.accepted == 1 and srv.counters.wrong_answers == 1


def test_wrong_response_is_unauthorized_and_counted() -> None:
    srv = server()
    verdict = srv.check(invite(Proxy_Authorization=answer(srv, "wrong")), "acme", "pw", "LiveKit")
    assert (verdict.status, verdict.reason, verdict.wrong_answer) == (401, "Unauthorized", True)


def test_authorization_header_is_ignored() -> None:
    srv = server()
    srv.check(invite(), "acme", "pw", "LiveKit")
    creds = answer_challenge('Digest realm="LiveKit", nonce="1700000000123456-c1"', "INVITE", "sip:b@127.0.0.1", "acme", "pw")
    assert srv.check(invite(Authorization=creds), "acme", "pw", "LiveKit").status == 407


def test_at_most_500_call_ids_are_remembered() -> None:
    srv = server()
    first = srv.check(invite("call-0"), "acme", "pw", "LiveKit").header[1]
    for i in range(1, 501):
        srv.check(invite(f"call-{i}"), "acme", "pw", "LiveKit")
    assert len(srv) == 500
    creds = answer_challenge(first, "INVITE", "sip:b@127.0.0.1", "acme", "pw")
    assert srv.check(invite("call-0", Proxy_Authorization=creds), "acme", "pw", "LiveKit").reason == "Bad credentials"


def test_nonces_are_never_issued_twice() -> None:
    srv = server()  # its wall clock is stuck: the microseconds still move on
    nonces = [parse_digest(srv.check(invite(), "acme", "pw", "LiveKit").header[1])["nonce"] for _ in range(3)]
    assert nonces == ["1700000000123456-c1", "1700000000123457-c1", "1700000000123458-c1"]


# ---- what LiveKit would let through (README, "Deliberate deviations") ---------------------

def test_an_answer_is_accepted_once_and_a_replay_is_challenged_afresh() -> None:
    srv = server()
    creds = answer(srv)
    assert srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit").accepted
    again = srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit")
    assert (again.status, again.reason, again.wrong_answer) == (407, "Unauthorized", False)
    assert again.header[1] == 'Digest realm="LiveKit", nonce="1700000000123457-c1", algorithm=MD5'
    assert srv.counters.replays == 1


def test_a_wrong_answer_spends_the_nonce() -> None:
    srv = server()
    challenge = srv.check(invite(), "acme", "pw", "LiveKit").header[1]
    wrong = answer_challenge(challenge, "INVITE", "sip:b@127.0.0.1", "acme", "guess")
    assert srv.check(invite(Proxy_Authorization=wrong), "acme", "pw", "LiveKit").wrong_answer
    right = answer_challenge(challenge, "INVITE", "sip:b@127.0.0.1", "acme", "pw")
    assert srv.check(invite(Proxy_Authorization=right), "acme", "pw", "LiveKit").status == 407


@pytest.mark.parametrize(
    "replayed",
    [
        {"from_": "<sip:a@127.0.0.1>;tag=other"},  # another From tag
        {"from_": "<sip:mallory@127.0.0.1>;tag=f"},  # another caller, the same tag
        {"to": "<sip:c@127.0.0.1>"},  # another called number, the same Request-URI
    ],
)
def test_a_nonce_is_bound_to_its_call_leg(replayed: dict[str, str]) -> None:
    srv = server()
    creds = answer(srv)
    verdict = srv.check(invite(Proxy_Authorization=creds, **replayed), "acme", "pw", "LiveKit")
    assert (verdict.status, verdict.accepted, verdict.wrong_answer) == (407, False, False)
    # The leg it was sent to can still answer it.
    assert srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit").accepted


def test_a_nonce_of_another_call_id_is_refused() -> None:
    srv = server()
    creds = answer(srv)  # challenged on c1
    # c2 was never challenged: LiveKit's "Bad credentials".
    assert srv.check(invite("c2", Proxy_Authorization=creds), "acme", "pw", "LiveKit").reason == "Bad credentials"
    # c2 was challenged, with another nonce: what LiveKit's recomputation answers.
    srv.check(invite("c2"), "acme", "pw", "LiveKit")
    verdict = srv.check(invite("c2", Proxy_Authorization=creds), "acme", "pw", "LiveKit")
    assert (verdict.status, verdict.reason, verdict.wrong_answer) == (401, "Unauthorized", False)


@pytest.mark.parametrize(
    ("field", "value", "status", "reason"),
    [
        ("realm", "Other", 401, "Unauthorized"),
        ("nonce", "1700000000123456-c9", 401, "Unauthorized"),
        ("uri", "sip:c@127.0.0.1", 400, "Digest uri does not match the Request-URI"),
    ],
)
def test_realm_nonce_and_uri_must_match_the_challenge(field: str, value: str, status: int, reason: str) -> None:
    srv = server()
    params = parse_digest(srv.check(invite(), "acme", "pw", "LiveKit").header[1])
    params[field] = value
    challenge = f'Digest realm="{params["realm"]}", nonce="{params["nonce"]}"'
    creds = answer_challenge(challenge, "INVITE", params.get("uri", "sip:b@127.0.0.1"), "acme", "pw")
    verdict = srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit")
    assert (verdict.status, verdict.reason, verdict.wrong_answer) == (status, reason, False)


@pytest.mark.parametrize(
    ("request_uri", "digest_uri"),
    [
        ("sip:b@127.0.0.1:5060;transport=udp;user=phone", "sip:b@127.0.0.1;user=phone;TRANSPORT=UDP"),
        ("sip:b@127.0.0.1", "sip:b@127.0.0.1:5060"),
        ("sip:%62@127.0.0.1", "sip:b@127.0.0.1"),
    ],
)
def test_uri_compares_as_rfc_3261_says(request_uri: str, digest_uri: str) -> None:
    srv = server()
    challenge = srv.check(invite(uri=request_uri), "acme", "pw", "LiveKit").header[1]
    creds = answer_challenge(challenge, "INVITE", digest_uri, "acme", "pw")
    assert srv.check(invite(uri=request_uri, Proxy_Authorization=creds), "acme", "pw", "LiveKit").accepted


def test_an_expired_nonce_answered_right_is_rechallenged_stale() -> None:
    clock = Clock()
    srv = server(clock)
    creds = answer(srv)
    clock.seconds = 300.0
    stale = srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit")
    assert (stale.status, stale.reason) == (407, "Unauthorized")
    assert stale.header[1] == 'Digest realm="LiveKit", nonce="1700000000123457-c1", algorithm=MD5, stale=true'
    fresh = answer_challenge(stale.header[1], "INVITE", "sip:b@127.0.0.1", "acme", "pw")
    assert srv.check(invite(Proxy_Authorization=fresh), "acme", "pw", "LiveKit").accepted
    assert srv.counters.stale == 1


def test_an_expired_nonce_answered_wrong_is_unauthorized() -> None:
    clock = Clock()
    srv = server(clock)
    creds = answer(srv, "guess")
    clock.seconds = 301.0
    verdict = srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit")
    assert (verdict.status, verdict.reason, verdict.wrong_answer) == (401, "Unauthorized", True)


def test_a_nonce_answered_before_it_expires_is_accepted() -> None:
    clock = Clock()
    srv = server(clock)
    creds = answer(srv)
    clock.seconds = 299.0
    assert srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit").accepted


def test_credentials_username() -> None:
    assert credentials_username(invite()) is None
    assert credentials_username(invite(Proxy_Authorization="Basic x")) is None
    assert credentials_username(invite(Proxy_Authorization='Digest username="acme", nonce="n"')) == "acme"
    assert credentials_username(invite(Proxy_Authorization='Digest nonce="n"')) == ""


def test_lifetime_must_be_positive() -> None:
    with pytest.raises(ValueError) as info:
        DigestServer(now_us=lambda: 0, now=Clock().now, lifetime=0)
    assert str(info.value) == "nonce lifetime 0: expected a number of seconds > 0"


def test_client_qop_auth() -> None:
    value = answer_challenge('Digest realm="r", nonce="n", qop="auth,auth-int", opaque="o"', "INVITE", "sip:b@h", "u", "p", cnonce="cn")
    params = parse_digest(value)
    ha1, ha2 = md5("u:r:p"), md5("INVITE:sip:b@h")
    assert params["response"] == md5(f"{ha1}:n:00000001:cn:auth:{ha2}")
    assert (params["qop"], params["nc"], params["cnonce"], params["opaque"]) == ("auth", "00000001", "cn", "o")


def test_client_without_qop() -> None:
    params = parse_digest(answer_challenge('Digest realm="r", nonce="n"', "INVITE", "sip:b@h", "u", "p"))
    assert params["response"] == md5(f"{md5('u:r:p')}:n:{md5('INVITE:sip:b@h')}")
    assert "qop" not in params


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("Basic x", "not a Digest header: 'Basic x'"),
        ('Digest realm="r', "unterminated quoted Digest parameter 'realm'"),
        ("Digest realm", "malformed Digest parameter at 0: 'Digest realm'"),
    ],
)
def test_parse_digest_errors(value: str, error: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_digest(value)
    assert str(info.value) == error


def test_challenge_headers() -> None:
    assert challenge_headers(401) == ("WWW-Authenticate", "Authorization")
    assert challenge_headers(407) == ("Proxy-Authenticate", "Proxy-Authorization")
    with pytest.raises(ValueError) as info:
        challenge_headers(403)
    assert str(info.value) == "status 403 is not an authentication challenge"
