"""`sipconf test PATH...`: replay call-flow scenarios and assert where each call went.

Thin: arguments -> `simulator.cli.run_tests` (which owns the run); exit 0 when all pass.
"""

from __future__ import annotations

import argparse
import os

from sipconf.spec import limits

from sipconf.commands._args import target_flags


def run(args: argparse.Namespace) -> int:
    from simulator.cli import TestArgs, run_tests

    if args.max_spec_size is not None:
        # Suites load their spec here and in the `sipconf apply` the run starts: both read it.
        os.environ[limits.ENV_VAR] = str(args.max_spec_size)

    return run_tests(TestArgs(
        paths=args.paths, keyword=args.k, jobs=args.j, driver=args.driver, junit=args.junit,
        report=args.report, target=target_flags(args), min_coverage=args.min_coverage, load=args.load,
        duration=args.duration, spec=args.spec, allow_literal_secrets=args.allow_literal_secrets,
    ))


def jobs(text: str) -> int:
    """`-j N`: a whole number of scenarios run in parallel, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def percent(text: str) -> float:
    """`--min-coverage PCT`: a number from 0 to 100 (a trailing % is allowed)."""
    try:
        value = float(text.removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text!r}") from None
    if not 0 <= value <= 100:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders (*.yaml except spec*.yaml)")
    p.add_argument("-k", metavar="EXPR", help="only scenarios whose id or tags match (and/or/not)")
    p.add_argument("-j", type=jobs, default=4, metavar="N", help="scenarios run in parallel (default %(default)s)")
    p.add_argument("--spec", metavar="FILE", help="the spec every suite runs against (default: the suite's `spec:`, "
                   "else the nearest spec.yaml in its folder or a parent folder)")
    p.add_argument("--driver", choices=("sipp", "scapy", "inproc"), help="override each scenario's driver")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML (one testcase per scenario)")
    p.add_argument("--report", metavar="DIR", help="write a pcap and an HTML ladder per call, and coverage")
    p.add_argument("--url", help="LiveKit URL where results are read (default LIVEKIT_URL, else embedded)")
    p.add_argument("--api-key", help="default LIVEKIT_API_KEY")
    p.add_argument("--api-secret", help="default LIVEKIT_API_SECRET")
    p.add_argument("--sip", metavar="HOST:PORT", help="where calls are sent (default SIPCONF_SIP or 127.0.0.1:5060)")
    p.add_argument("--min-coverage", type=percent, metavar="PCT", help="fail below this routing coverage")
    p.add_argument("--load", type=float, metavar="CPS", help="load mode: drive one scenario at this rate with SIPp")
    p.add_argument("--duration", type=float, default=10.0, metavar="S", help="load mode duration (default %(default)s)")
    p.add_argument("--allow-literal-secrets", action="store_true",
                   help="accept passwords and PINs written in the spec and in the scenarios' credentials")
    limits.add_argument(p)
