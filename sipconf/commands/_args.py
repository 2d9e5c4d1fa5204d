"""Arguments and steps that several commands share, written once."""

from __future__ import annotations

import argparse
import re
import sys

from sipconf.livekit.target import DEFAULT_TIMEOUT, TargetFlags
from sipconf.spec import limits

ENV_HELP = "apply this environment overlay (environments: NAME)"


def add_literal_secrets_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-literal-secrets", action="store_true", help="accept passwords written in the spec")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--url, --api-key, --api-secret, --timeout: read by `target_flags`."""
    parser.add_argument("--url", help="LiveKit URL (default: $LIVEKIT_URL)")
    parser.add_argument("--api-key", help="API key (default: $LIVEKIT_API_KEY)")
    parser.add_argument("--api-secret", help="API secret (default: $LIVEKIT_API_SECRET)")
    parser.add_argument(
        "--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"give up on a LiveKit request after this long; retried with backoff (default: {DEFAULT_TIMEOUT:g})",
    )


def target_flags(args: argparse.Namespace) -> TargetFlags:
    """The target flags a command was given (those it does not declare are None)."""
    return TargetFlags(
        url=getattr(args, "url", None),
        api_key=getattr(args, "api_key", None),
        api_secret=getattr(args, "api_secret", None),
        timeout=getattr(args, "timeout", None),
        sip=getattr(args, "sip", None),
    )


def seconds(text: str) -> float:
    """`--timeout SECONDS`: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)", re.ASCII)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """`--lock-timeout DURATION`: `0`, or a number with a unit (`500ms`, `30s`, `2m`, `1h`), in seconds."""
    if text == "0":
        return 0.0
    match = _DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 30s, 2m or 1h (or 0), got {text!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def add_impact_argument(parser: argparse.ArgumentParser) -> None:
    """--impact N|all: how many route-impact rows a plan shows."""
    from sipconf.plan.labels import DEFAULT_IMPACT_ROWS

    parser.add_argument(
        "--impact", type=impact_rows, default=DEFAULT_IMPACT_ROWS, metavar="N|all",
        help=f"show this many route-impact rows, or all (default: {DEFAULT_IMPACT_ROWS}); a saved plan keeps all",
    )


def impact_rows(text: str) -> int | None:
    """`--impact N|all`: a positive number of rows, or None for all."""
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of rows or 'all', got {text!r}")
    return int(text)


def add_only_argument(parser: argparse.ArgumentParser) -> None:
    """--only NAME (repeatable): just these objects, plus the trunks their rules list."""
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME",
        help="only this trunk or dispatch rule (and the trunks it lists); repeatable",
    )


def add_live_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The tail of `plan` and `apply`: --allow-literal-secrets, --max-spec-size, then the LiveKit target."""
    add_literal_secrets_argument(parser)
    limits.add_argument(parser)
    add_target_arguments(parser)


def load_for_live(path: str, args: argparse.Namespace):
    """Load the spec for `plan`/`apply`: refuse it on errors, print its warnings to stderr."""
    from sipconf.checks import require_no_errors
    from sipconf.spec import load

    desired = load(path, env=args.env, allow_literal_secrets=args.allow_literal_secrets, limits=limits.from_args(args))
    for warning in require_no_errors(desired):
        print(warning, file=sys.stderr)
    return desired
