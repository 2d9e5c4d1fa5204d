"""Digest authentication as the agent's callee asks for it (RFC 2617 without qop, RFC 3261
22): a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) challenge, then a check of the
credentials the retried INVITE carries. The plain MD5 form is what every caller the agent
meets answers, LiveKit's outbound client and SIPp alike.
"""

from __future__ import annotations

import hashlib
import secrets

from sipconf.sip.digest import challenge_headers, parse_digest
from sipconf.sip.message import Request

__all__ = ["REALM", "challenge", "verify"]

REALM = "agent.sipconf.test"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 2617 digest is MD5


def challenge(status: int, request: Request, realm: str = REALM) -> tuple[str, str]:
    """The challenge header of a 401 or 407 to `request`."""
    name, _ = challenge_headers(status)
    nonce = f"{secrets.token_hex(8)}-{request.call_id}"
    return name, f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5'


def verify(status: int, request: Request, username: str, password: str) -> bool | None:
    """None when `request` carries no credentials for a `status` challenge (challenge it);
    else whether they are right for `username`/`password` (the realm and nonce they name)."""
    _, credentials_name = challenge_headers(status)
    header = request.get(credentials_name)
    if header is None:
        return None
    try:
        answer = parse_digest(header)
    except ValueError:
        return False
    ha1 = _md5(f"{username}:{answer.get('realm', '')}:{password}")
    ha2 = _md5(f"{request.method}:{answer.get('uri', '')}")
    expected = _md5(f"{ha1}:{answer.get('nonce', '')}:{ha2}")
    return answer.get("username") == username and answer.get("response") == expected
