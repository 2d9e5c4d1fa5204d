"""Arguments and steps that several commands share, written once."""

from __future__ import annotations

import argparse
import sys

from sipconf.livekit.target import add_target_arguments
from sipconf.spec import limits

ENV_HELP = "apply this environment overlay (environments: NAME)"


def add_literal_secrets_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-literal-secrets", action="store_true", help="accept passwords written in the spec")


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
