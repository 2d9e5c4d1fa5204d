"""SIP digest authentication (RFC 3261 22, RFC 2617): LiveKit's server side and a client.

Server (docs/livekit.md#auth-step), as LiveKit answers a caller with the right password:
- no ``Proxy-Authorization`` -> ``407 Unauthorized`` with
  ``Proxy-Authenticate: Digest realm="<realm>", nonce="<unix-microseconds>-<Call-ID>", algorithm=MD5``
  (no qop);
- unparseable credentials -> ``401 Bad credentials``; wrong username -> ``401 Unauthorized``;
  no challenge remembered for the Call-ID (at most 500 Call-IDs) -> ``401 Bad credentials``;
  ``response`` differs from MD5(MD5(user:realm:password):nonce:MD5(INVITE:uri)) ->
  ``401 Unauthorized``; else authenticated.
- An ``Authorization`` header is ignored (another 407 follows).

Unlike LiveKit, a nonce cannot be replayed (README, "Deliberate deviations"):
- it is bound to its challenge: the credentials' ``realm`` and ``nonce`` must be those of a
  challenge sent for this Call-ID (else ``401 Unauthorized``, what LiveKit's recomputation
  with its own nonce yields), and their ``uri`` must be the Request-URI (RFC 2617 3.2.2.5,
  compared as RFC 3261 19.1.4 says; else ``400``);
- it is bound to its call leg: the From tag, the caller (From user) and the called number
  (To user) of the INVITE it challenged. RFC 3261 8.1.3.5 has the retry keep Call-ID, From
  and To, and LiveKit keys the retry by (Call-ID, From tag); the caller and called numbers
  are what routing reads and the response does not cover (the uri covers only the
  Request-URI), so a credential cannot be replayed on the same Call-ID for another caller.
  The source address is not bound: behind a carrier's proxies a retry may come from another;
- it answers once: the first answer checked spends it, right or wrong, so a nonce gives one
  guess; a spent nonce, or one bound to another leg, is challenged afresh (a new 407);
- it expires ``lifetime`` seconds (5 min) after it was sent, on the injected clock: a right
  answer with an expired nonce gets a new 407 with ``stale=true`` (RFC 2617 3.2.1, RFC 7616
  3.3), so the client retries without asking for the password again.
``Verdict.wrong_answer`` marks the answers that were checked and wrong (wrong username or
response): the bridge's back-off counts them.

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
from sipconf.sip.status_lines import BAD_CREDENTIALS, PROXY_CHALLENGE, WRONG_CREDENTIALS, StatusLine
from sipconf.sip.uri import uri_equal

__all__ = [
    "Challenge",
    "DigestCounters",
    "DigestServer",
    "Leg",
    "Verdict",
    "answer_challenge",
    "challenge_headers",
    "credentials_username",
    "format_params",
    "parse_digest",
]

MAX_CHALLENGES = 500  # Call-IDs remembered, as LiveKit
MAX_NONCES_PER_CALL = 16  # challenges remembered per Call-ID (one per retry, a few legs)
NONCE_LIFETIME = 300.0  # seconds a challenge can be answered
# RFC 2617 3.2.2.5: a uri that is not the Request-URI "SHOULD" get 400 Bad Request.
URI_MISMATCH = StatusLine(400, "Digest uri does not match the Request-URI")


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
class Leg:
    """The call leg a challenge was sent to: From tag, caller (From user), called (To user)."""

    from_tag: str
    caller: str
    called: str

    @staticmethod
    def of(request: Request) -> Leg:
        return Leg(request.from_.tag or "", request.from_.uri.user or "", request.to.uri.user or "")


@dataclass
class Challenge:
    realm: str
    nonce: str
    leg: Leg
    sent: float  # on the injected clock
    spent: bool = False  # an answer was checked against it


@dataclass
class DigestCounters:
    """What the server saw, for metrics: challenges sent, answers checked and wrong,
    spent or foreign nonces challenged afresh, stale nonces re-challenged, admissions."""

    challenges: int = 0
    wrong_answers: int = 0
    replays: int = 0
    stale: int = 0
    accepted: int = 0


@dataclass(frozen=True)
class Verdict:
    """The server's answer: ``accepted``, or a response ``status``/``reason`` (+ header).
    ``wrong_answer``: credentials were checked and wrong (a failed guess)."""

    accepted: bool
    status: int = 0
    reason: str = ""
    header: tuple[str, str] | None = None
    wrong_answer: bool = False

    def response_for(self, request: Request, to_tag: str | None = None) -> Response:
        if self.accepted:
            raise ValueError("an accepted request has no digest response")
        response = make_response(request, self.status, self.reason, to_tag)
        if self.header is not None:
            response.add(*self.header)
        response.add("Content-Length", "0")
        return response


def credentials_username(request: Request) -> str | None:
    """The ``username`` of the request's ``Proxy-Authorization``; None without one that parses."""
    header = request.get("proxy-authorization")
    if header is None:
        return None
    try:
        return parse_digest(header).get("username", "")
    except ValueError:
        return None


class DigestServer:
    """LiveKit's inbound digest handshake, with nonces bound to their challenge and call
    leg, answered once, expiring after ``lifetime`` seconds of ``now()``.

    ``now_us`` gives the nonce's unix microseconds (never the same twice here); ``now`` is
    the injected clock that times the nonces out.
    """

    def __init__(self, now_us: Callable[[], int], now: Callable[[], float], capacity: int = MAX_CHALLENGES,
                 lifetime: float = NONCE_LIFETIME) -> None:
        if lifetime <= 0:
            raise ValueError(f"nonce lifetime {lifetime:g}: expected a number of seconds > 0")
        self.now_us = now_us
        self.now = now
        self.capacity = capacity
        self.lifetime = lifetime
        self.counters = DigestCounters()
        self._calls: OrderedDict[str, dict[str, Challenge]] = OrderedDict()  # Call-ID -> nonce -> challenge
        self._last_us = 0

    def check(self, request: Request, username: str, password: str, realm: str) -> Verdict:
        header = request.get("proxy-authorization")
        if header is None:
            return self._challenge(request, realm)
        try:
            creds = parse_digest(header)
        except ValueError:
            return Verdict(False, *BAD_CREDENTIALS)
        if creds.get("username", "") != username:
            return self._wrong()
        challenges = self._calls.get(request.call_id)
        if not challenges:
            return Verdict(False, *BAD_CREDENTIALS)
        challenge = challenges.get(creds.get("nonce", ""))
        if challenge is None or creds.get("realm") != challenge.realm:
            # Not a nonce (or realm) sent for this Call-ID: LiveKit, recomputing with its own,
            # answers the same.
            return Verdict(False, *WRONG_CREDENTIALS)
        if not uri_equal(creds.get("uri", ""), request.uri, default_port=True):
            # SBCs write the port or leave the default out on one side only: the same resource.
            return Verdict(False, *URI_MISMATCH)
        if challenge.spent or challenge.leg != Leg.of(request):
            self.counters.replays += 1
            return self._challenge(request, realm)
        challenge.spent = True
        ha1 = _md5(f"{username}:{challenge.realm}:{password}")
        ha2 = _md5(f"INVITE:{creds.get('uri', '')}")
        if creds.get("response", "") != _md5(f"{ha1}:{challenge.nonce}:{ha2}"):
            return self._wrong()
        if self.now() - challenge.sent >= self.lifetime:
            self.counters.stale += 1
            return self._challenge(request, realm, stale=True)
        self.counters.accepted += 1
        return Verdict(True)

    def _wrong(self) -> Verdict:
        self.counters.wrong_answers += 1
        return Verdict(False, *WRONG_CREDENTIALS, wrong_answer=True)

    def _challenge(self, request: Request, realm: str, stale: bool = False) -> Verdict:
        # Unix microseconds as LiveKit, but never twice the same: a nonce must be new even if
        # the wall clock steps back.
        self._last_us = max(self.now_us(), self._last_us + 1)
        call_id = request.call_id
        nonce = f"{self._last_us}-{call_id}"
        challenges = self._calls.pop(call_id, {})
        challenges[nonce] = Challenge(realm, nonce, Leg.of(request), self.now())
        while len(challenges) > MAX_NONCES_PER_CALL:
            challenges.pop(next(iter(challenges)))
        self._calls[call_id] = challenges
        while len(self._calls) > self.capacity:
            self._calls.popitem(last=False)
        self.counters.challenges += 1
        value = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5' + (", stale=true" if stale else "")
        return Verdict(False, *PROXY_CHALLENGE, ("Proxy-Authenticate", value))

    def __len__(self) -> int:
        return len(self._calls)


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
