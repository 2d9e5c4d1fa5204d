"""Which LiveKit project a command talks to, and with which credentials.

The same names the `lk` CLI and `livekit-api` use: `LIVEKIT_URL`, `LIVEKIT_API_KEY`,
`LIVEKIT_API_SECRET`, overridden by `--url`, `--api-key`, `--api-secret`. `--timeout` bounds
every single request (each retry gets its own), because a server that accepts the connection
and never answers would otherwise hold a CI job until the peer drops it.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Mapping

from sipconf.errors import UserError

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Target:
    url: str
    api_key: str
    api_secret: str
    timeout: float = DEFAULT_TIMEOUT  # seconds per request

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"Target(url={self.url!r}, api_key={self.api_key!r}, timeout={self.timeout:g})"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="LiveKit URL (default: $LIVEKIT_URL)")
    parser.add_argument("--api-key", help="API key (default: $LIVEKIT_API_KEY)")
    parser.add_argument("--api-secret", help="API secret (default: $LIVEKIT_API_SECRET)")
    parser.add_argument(
        "--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"give up on a LiveKit request after this long; retried with backoff (default: {DEFAULT_TIMEOUT:g})",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def resolve_target(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Target:
    env = os.environ if environ is None else environ
    url = getattr(args, "url", None) or env.get("LIVEKIT_URL", "")
    key = getattr(args, "api_key", None) or env.get("LIVEKIT_API_KEY", "")
    secret = getattr(args, "api_secret", None) or env.get("LIVEKIT_API_SECRET", "")
    missing = [name for name, value in (("LIVEKIT_URL", url), ("LIVEKIT_API_KEY", key), ("LIVEKIT_API_SECRET", secret)) if not value]
    if missing:
        raise UserError(
            f"no LiveKit target: set {', '.join(missing)} (or pass --url, --api-key and --api-secret);"
            " `sipconf up` prints the values for the embedded control plane"
        )
    return Target(url, key, secret, getattr(args, "timeout", None) or DEFAULT_TIMEOUT)


def same_url(a: str, b: str) -> bool:
    """URLs equal up to a trailing slash and ws(s) vs http(s), as the client treats them
    (docs/livekit.md#api-transport)."""
    return _norm(a) == _norm(b)


def _norm(url: str) -> str:
    url = url.strip().rstrip("/")
    for old, new in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(old):
            url = new + url[len(old):]
    return url.lower()


def check_pinned(target: Target, pinned: str | None, environment: str | None) -> None:
    """An environment overlay that pins `url` may only be planned or applied against that URL."""
    if pinned and not same_url(pinned, target.url):
        env = f"environment {environment!r}" if environment else "the spec"
        raise UserError(f"{env} is pinned to {pinned}, but the target is {target.url}; point LIVEKIT_URL (or --url) at {pinned}")
