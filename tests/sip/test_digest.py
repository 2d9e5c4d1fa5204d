"""Digest auth: LiveKit's server handshake (docs/livekit.md#auth-step) and the client
(docs/livekit.md#dialling)."""

from __future__ import annotations

import hashlib

import pytest

from sipconf.sip.digest import DigestServer, answer_challenge, challenge_headers, parse_digest
from sipconf.sip.message import Request


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def invite(call_id: str = "c1", **headers: str) -> Request:
    hs = [("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1"), ("From", "<sip:a@127.0.0.1>;tag=f"),
          ("To", "<sip:b@127.0.0.1>"), ("Call-ID", call_id), ("CSeq", "1 INVITE")]
    hs += [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Request(method="INVITE", uri="sip:b@127.0.0.1", headers=hs)


def server() -> DigestServer:
    return DigestServer(now_us=lambda: 1700000000123456)


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
    srv.check(invite(), "acme", "pw", "LiveKit")
    cases = {
        "Basic abc": "Bad credentials",
        'Digest username="acme", realm="LiveKit", nonce="x' : "Bad credentials",
        good.replace('username="acme"', 'username="eve"'): "Unauthorized",
        answer_challenge('Digest realm="LiveKit", nonce="1700000000123456-c1"', "INVITE", "sip:b@127.0.0.1", "acme", "wrong"): "Unauthorized",
    }
    for creds, reason in cases.items():
        verdict = srv.check(invite(Proxy_Authorization=creds), "acme", "pw", "LiveKit")
        assert (verdict.status, verdict.reason) == (401, reason), creds
    assert srv.check(invite(Proxy_Authorization=good), "acme", "pw", "LiveKit").accepted


def test_authorization_header_is_ignored() -> None:
    srv = server()
    srv.check(invite(), "acme", "pw", "LiveKit")
    creds = answer_challenge('Digest realm="LiveKit", nonce="1700000000123456-c1"', "INVITE", "sip:b@127.0.0.1", "acme", "pw")
    assert srv.check(invite(Authorization=creds), "acme", "pw", "LiveKit").status == 407


def test_at_most_500_challenges_are_remembered() -> None:
    srv = server()
    for i in range(501):
        srv.check(invite(f"call-{i}"), "acme", "pw", "LiveKit")
    assert len(srv) == 500
    creds = answer_challenge('Digest realm="LiveKit", nonce="1700000000123456-call-0"', "INVITE", "sip:b@h", "acme", "pw")
    assert srv.check(invite("call-0", Proxy_Authorization=creds), "acme", "pw", "LiveKit").reason == "Bad credentials"


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
