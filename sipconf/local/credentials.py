"""Development credentials of the embedded control plane.

The key is fixed so that `sipconf up` prints the same exports every time; the secret is
at least 32 bytes because PyJWT warns about shorter HMAC keys (docs/livekit.md#api-tokens), which
breaks suites run with `-W error`. Both can be overridden from the same variables the client reads.
"""

from __future__ import annotations

import os
from typing import Mapping

from sipconf.errors import UserError

DEV_API_KEY = "devkey"
DEV_API_SECRET = "sipconf-dev-secret-not-for-production-0123456789"
MIN_SECRET_BYTES = 32


def dev_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(api_key, api_secret): `LIVEKIT_API_KEY`/`LIVEKIT_API_SECRET` when set, else the dev pair."""
    env = os.environ if env is None else env
    secret = env.get("LIVEKIT_API_SECRET") or DEV_API_SECRET
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise UserError(f"LIVEKIT_API_SECRET must be at least {MIN_SECRET_BYTES} bytes (an HS256 key); it is {len(secret.encode())}")
    return env.get("LIVEKIT_API_KEY") or DEV_API_KEY, secret
