"""Which LiveKit a command talks to, with which credentials, and where its calls go.

One target and one resolver for `plan`, `apply`, `import` and `test`. The names are those the
`lk` CLI and `livekit-api` use: `LIVEKIT_URL`, `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`,
overridden by `--url`, `--api-key`, `--api-secret`; `sipconf test` also sends SIP to
`--sip` or `SIPCONF_SIP`. The timeout bounds every single request (each retry gets its own),
because a server that accepts the connection and never answers would otherwise hold a CI job
until the peer drops it. The command-line flags themselves are declared in sipconf.commands.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from sipconf.errors import UserError

DEFAULT_TIMEOUT = 10.0
DEFAULT_SIP = "127.0.0.1:5060"


@dataclass(frozen=True)
class Target:
    """A LiveKit deployment: its API (URL and credentials), and its SIP address."""

    url: str
    api_key: str
    api_secret: str
    timeout: float = DEFAULT_TIMEOUT  # seconds per request
    sip: tuple[str, int] = ("127.0.0.1", 5060)  # where `sipconf test` sends its calls

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"Target(url={self.url!r}, api_key={self.api_key!r}, timeout={self.timeout:g}, sip={self.sip!r})"


@dataclass(frozen=True)
class TargetFlags:
    """What the command line gave (None: not given, the environment decides)."""

    url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    timeout: float | None = None
    sip: str | None = None


def resolve_target(
    flags: TargetFlags = TargetFlags(), environ: Mapping[str, str] | None = None, *, embedded_default: bool = False
) -> Target | None:
    """The target the flags and the environment name; a missing value is one error naming it.

    `embedded_default` (`sipconf test`): with no URL anywhere, None, and the caller starts
    its own embedded control plane; only then is `--sip`/`SIPCONF_SIP` read. Otherwise the
    result is never None.
    """
    env = os.environ if environ is None else environ
    url = flags.url or env.get("LIVEKIT_URL", "")
    if not url and embedded_default:
        return None
    key = flags.api_key or env.get("LIVEKIT_API_KEY", "")
    secret = flags.api_secret or env.get("LIVEKIT_API_SECRET", "")
    missing = [name for name, value in (("LIVEKIT_URL", url), ("LIVEKIT_API_KEY", key), ("LIVEKIT_API_SECRET", secret)) if not value]
    if missing and embedded_default:
        raise UserError(f"{url}: set LIVEKIT_API_KEY and LIVEKIT_API_SECRET (or --api-key/--api-secret)")
    if missing:
        raise UserError(
            f"no LiveKit target: set {', '.join(missing)} (or pass --url, --api-key and --api-secret);"
            " `sipconf up` prints the values for the embedded control plane"
        )
    timeout = flags.timeout or DEFAULT_TIMEOUT
    if not embedded_default:
        return Target(url, key, secret, timeout)
    return Target(url, key, secret, timeout, parse_sip(flags.sip or env.get("SIPCONF_SIP", DEFAULT_SIP)))


def parse_sip(text: str) -> tuple[str, int]:
    """`--sip HOST:PORT` (or SIPCONF_SIP): where calls are sent."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(f"--sip {text!r}: expected HOST:PORT, e.g. 127.0.0.1:5060")
    return host, int(port)


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
