"""`sipconf up`'s digest flags: they reach the bridge, and a bad value is one clear line."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from sipconf.bridge.backoff import BackoffPolicy
from sipconf.commands import up
from tests.local.up_process import run_up


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    up.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_flags_reach_the_bridge(tmp_path: Path) -> None:
    args = parsed("--trusted-proxy", "192.0.2.10", "--trusted-proxy", "198.51.100.0/24", "--auth-failures", "3",
                  "--auth-failure-window", "10", "--auth-backoff", "5", "--auth-backoff-max", "20",
                  "--nonce-lifetime", "60")
    opts = up.UpOptions(http=("127.0.0.1", 0), sip=("127.0.0.1", 0), state=tmp_path / "s.db", mode="explicit",
                        trusted_proxies=tuple(args.trusted_proxy), auth_backoff=up.auth_backoff(args),
                        nonce_lifetime=args.nonce_lifetime)

    async def main():
        services = await up.start_services(opts)
        try:
            config = services.bridge.config
            assert config.backoff.policy == BackoffPolicy(failures=3, window=10, first=5, longest=20)
            assert str(config.backoff.trusted_proxies) == "192.0.2.10/32, 198.51.100.0/24"
            assert config.backoff.trusted_proxies is services.bridge.trusted_proxies  # one setting, two uses
            assert config.digest.lifetime == 60
        finally:
            await services.stop()

    asyncio.run(main())


def test_the_defaults() -> None:
    args = parsed()
    assert up.auth_backoff(args) == BackoffPolicy(failures=10, window=60, first=30, longest=900)
    assert (args.trusted_proxy, args.nonce_lifetime) == ([], 300)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--trusted-proxy", "carrier.example"],
         "--trusted-proxy 'carrier.example': expected an IP address or a CIDR block, e.g. 127.0.0.2 or 10.0.0.0/8"),
        (["--auth-failures", "-1"], "--auth-failures -1: expected a number of failures >= 0 (0 = no back-off)"),
        (["--auth-backoff", "0"], "--auth-backoff 0: expected a number of seconds > 0"),
        (["--auth-backoff", "60", "--auth-backoff-max", "30"], "--auth-backoff-max 30: shorter than --auth-backoff 60"),
        (["--nonce-lifetime", "0"], "--nonce-lifetime 0: expected a number of seconds > 0"),
    ],
)
def test_a_bad_value_is_one_line(tmp_path: Path, argv: list[str], error: str) -> None:
    proc = run_up(tmp_path / "s.db", *argv)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [error]
