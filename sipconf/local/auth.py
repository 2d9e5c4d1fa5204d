"""Access tokens and grants (docs/livekit.md#api-tokens).

The real server (pkg/service/auth.go) reads `Authorization: Bearer <jwt>`, picks the secret
by the unverified `iss`, then verifies HS256, issuer == key, a required `exp` and 1 minute
of leeway. Verification here takes the time from an injected clock so expiry is testable
without sleeping.

Deliberate deviation: the real server answers a bad token with a plain-text 401, which the
client shows as `ServerError(code="unknown", message="")`; we answer Twirp JSON
`unauthenticated` with the reason, so the failure is readable. A missing grant is
`unauthenticated` "permissions denied" (401), exactly as LiveKit.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jwt

from sipconf.routing.errors import UNAUTHENTICATED, LiveKitError

LEEWAY_SECONDS = 60
Claims = Mapping[str, Any]


def _invalid(reason: str) -> LiveKitError:
    return LiveKitError(UNAUTHENTICATED, f"invalid authorization token: {reason}")


def authenticate(authorization: str | None, keys: Mapping[str, str], now: Callable[[], float]) -> Claims:
    """Verify the bearer token against `keys` (api key -> secret); return its claims."""
    if not authorization:
        raise _invalid("no Authorization header")
    if not authorization.startswith("Bearer "):
        raise _invalid('the Authorization header must start with "Bearer "')
    token = authorization[len("Bearer "):].strip()
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as err:
        raise _invalid(f"cannot parse token ({err})") from None
    issuer = unverified.get("iss")
    secret = keys.get(issuer) if isinstance(issuer, str) else None
    if secret is None:
        raise _invalid(f"unknown API key {issuer!r}")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            # exp/nbf are checked below against the injected clock.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["exp"]},
        )
    except jwt.MissingRequiredClaimError:
        raise _invalid("the token has no expiry (exp)") from None
    except jwt.InvalidSignatureError:
        raise _invalid(f"bad signature: the token was not signed with the secret of API key {issuer!r}") from None
    except jwt.PyJWTError as err:
        raise _invalid(str(err)) from None
    t = now()
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] + LEEWAY_SECONDS < t:
        raise _invalid("the token has expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and nbf - LEEWAY_SECONDS > t:
        raise _invalid("the token is not valid yet (nbf)")
    return claims


def _denied() -> LiveKitError:
    return LiveKitError(UNAUTHENTICATED, "permissions denied")


def _grant(claims: Claims, group: str, name: str) -> Any:
    value = claims.get(group)
    return value.get(name) if isinstance(value, dict) else None


def require_sip_admin(claims: Claims) -> None:
    """EnsureSIPAdminPermission: trunk and dispatch-rule CRUD and lists."""
    if _grant(claims, "sip", "admin") is not True:
        raise _denied()


def require_sip_call(claims: Claims) -> None:
    """EnsureSIPCallPermission: CreateSIPParticipant and TransferSIPParticipant."""
    if _grant(claims, "sip", "call") is not True:
        raise _denied()


def require_room_admin(claims: Claims, room: str) -> None:
    """EnsureAdminPermission(room): `video.roomAdmin` and `video.room == room`."""
    if _grant(claims, "video", "roomAdmin") is not True or _grant(claims, "video", "room") != room:
        raise _denied()


def require_room_list(claims: Claims) -> None:
    if _grant(claims, "video", "roomList") is not True:
        raise _denied()


def require_room_create(claims: Claims) -> None:
    if _grant(claims, "video", "roomCreate") is not True:
        raise _denied()
