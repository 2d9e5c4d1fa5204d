"""SIP digest authentication (RFC 3261 22, RFC 2617): LiveKit's server side and a client.

Server (docs/livekit.md#auth-step): challenge state per Call-ID, at most 500 remembered.
- no ``Proxy-Authorization`` -> ``407 Unauthorized`` with
  ``Proxy-Authenticate: Digest realm="<realm>", nonce="<unix-microseconds>-<Call-ID>", algorithm=MD5``
  (no qop);
- unparseable credentials -> ``401 Bad credentials``; wrong username -> ``401 Unauthorized``;
  no remembered challenge -> ``401 Bad credentials``; ``response`` differs from
  MD5(MD5(user:realm:password):nonce:MD5(INVITE:uri)) with the remembered realm/nonce and the
  client's ``uri`` -> ``401 Unauthorized``; else authenticated.
- An ``Authorization`` header is ignored (another 407 follows).

Client (docs/livekit.md#dialling): answer 401 ``WWW-Authenticate`` with ``Authorization`` and 407
``Proxy-Authenticate`` with ``Proxy-Authorization``, with qop=auth when offered.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from sipconf.sip.message import Request, Response, make_response
from sipconf.sip.status_lines import BAD_CREDENTIALS, PROXY_CHALLENGE, WRONG_CREDENTIALS

__all__ = [
    "Challenge",
    "DigestServer",
    "Verdict",
    "answer_challenge",
    "challenge_headers",
    "format_params",
    "parse_digest",
]

MAX_CHALLENGES = 500


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def parse_digest(value: str) -> dict[str, str]:
    """``Digest a="x", b=y`` -> ``{"a": "x", "b": "y"}`` (names lower-cased).

    Raises ``ValueError`` for another scheme or a malformed parameter list.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"not a Digest header: {value!r}")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = rest.find("=", i)
        if eq < 0:
            raise ValueError(f"malformed Digest parameter at {i}: {value!r}")
        name = rest[i:eq].strip().lower()
        if not name or any(c in name for c in ' \t,"'):
            raise ValueError(f"malformed Digest parameter at {i}: {value!r}")
        i = eq + 1
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] == '"':
            j = i + 1
            out = []
            while j < n and rest[j] != '"':
                if rest[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(rest[j])
                j += 1
            if j >= n:
                raise ValueError(f"unterminated quoted Digest parameter {name!r}")
            params[name] = "".join(out)
            i = j + 1
        else:
            j = rest.find(",", i)
            j = n if j < 0 else j
            params[name] = rest[i:j].strip()
            i = j
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] != ",":
            raise ValueError(f"malformed Digest parameter list: {value!r}")
    return params


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str


@dataclass(frozen=True)
class Verdict:
    """The server's answer: ``accepted``, or a response ``status``/``reason`` (+ header)."""

    accepted: bool
    status: int = 0
    reason: str = ""
    header: tuple[str, str] | None = None

    def response_for(self, request: Request, to_tag: str | None = None) -> Response:
        if self.accepted:
            raise ValueError("an accepted request has no digest response")
        response = make_response(request, self.status, self.reason, to_tag)
        if self.header is not None:
            response.add(*self.header)
        response.add("Content-Length", "0")
        return response


class DigestServer:
    """LiveKit's inbound digest handshake, with a bounded per-Call-ID challenge memory."""

    def __init__(self, now_us: Callable[[], int], capacity: int = MAX_CHALLENGES) -> None:
        self.now_us = now_us
        self.capacity = capacity
        self._challenges: OrderedDict[str, Challenge] = OrderedDict()

    def check(self, request: Request, username: str, password: str, realm: str) -> Verdict:
        header = request.get("proxy-authorization")
        call_id = request.call_id
        if header is None:
            nonce = f"{self.now_us()}-{call_id}"
            self._remember(call_id, Challenge(realm, nonce))
            value = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5'
            return Verdict(False, *PROXY_CHALLENGE, ("Proxy-Authenticate", value))
        try:
            creds = parse_digest(header)
        except ValueError:
            return Verdict(False, *BAD_CREDENTIALS)
        if creds.get("username", "") != username:
            return Verdict(False, *WRONG_CREDENTIALS)
        challenge = self._challenges.get(call_id)
        if challenge is None:
            return Verdict(False, *BAD_CREDENTIALS)
        ha1 = _md5(f"{username}:{challenge.realm}:{password}")
        ha2 = _md5(f"INVITE:{creds.get('uri', '')}")
        expected = _md5(f"{ha1}:{challenge.nonce}:{ha2}")
        if creds.get("response", "") != expected:
            return Verdict(False, *WRONG_CREDENTIALS)
        return Verdict(True)

    def _remember(self, call_id: str, challenge: Challenge) -> None:
        self._challenges[call_id] = challenge
        self._challenges.move_to_end(call_id)
        while len(self._challenges) > self.capacity:
            self._challenges.popitem(last=False)

    def __len__(self) -> int:
        return len(self._challenges)


def challenge_headers(status: int) -> tuple[str, str]:
    """(challenge header, credentials header) for a 401 or a 407 (RFC 3261 22.2, 22.3)."""
    if status == 401:
        return "WWW-Authenticate", "Authorization"
    if status == 407:
        return "Proxy-Authenticate", "Proxy-Authorization"
    raise ValueError(f"status {status} is not an authentication challenge")


def format_params(params: list[tuple[str, str, bool]]) -> str:
    return ", ".join(f'{k}="{v}"' if quoted else f"{k}={v}" for k, v, quoted in params)


def answer_challenge(
    challenge: str,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str | None = None,
    nc: int = 1,
) -> str:
    """The credentials value answering one ``WWW-/Proxy-Authenticate`` value (RFC 2617 3.2.2)."""
    params = parse_digest(challenge)
    realm = params.get("realm", "")
    nonce = params.get("nonce", "")
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() not in ("MD5", "MD5-SESS"):
        raise ValueError(f"unsupported digest algorithm: {algorithm}")
    qops = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
    if qops and "auth" not in qops:
        raise ValueError(f"unsupported digest qop: {params['qop']}")
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = _md5(f"{username}:{realm}:{password}")
    if algorithm.upper() == "MD5-SESS":
        ha1 = _md5(f"{ha1}:{nonce}:{cnonce}")
    ha2 = _md5(f"{method}:{uri}")
    out: list[tuple[str, str, bool]] = [
        ("username", username, True),
        ("realm", realm, True),
        ("nonce", nonce, True),
        ("uri", uri, True),
    ]
    if qops:
        nc_text = f"{nc:08x}"
        response = _md5(f"{ha1}:{nonce}:{nc_text}:{cnonce}:auth:{ha2}")
        out += [("response", response, True), ("algorithm", algorithm, False)]
        out += [("cnonce", cnonce, True), ("nc", nc_text, False), ("qop", "auth", False)]
    else:
        response = _md5(f"{ha1}:{nonce}:{ha2}")
        out += [("response", response, True), ("algorithm", algorithm, False)]
    if "opaque" in params:
        out.append(("opaque", params["opaque"], True))
    return "Digest " + format_params(out)
