"""`sipconf show PLANFILE`: a plan saved with `plan --out`, rendered again (Terraform's `show`).

A pull-request comment stops at GitHub's limit and route impact at `--impact` rows; the saved
plan holds all of it, and this reads it in any format without a LiveKit target or a secret.
"""

from __future__ import annotations

import argparse
import sys

from sipconf.commands._args import add_impact_argument


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", metavar="PLANFILE", help="a plan saved with `sipconf plan --out`")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    add_impact_argument(p)


def run(args: argparse.Namespace) -> int:
    from sipconf.plan.render import make_renderer
    from sipconf.plan.saved import read

    plan = read(args.plan)
    sys.stdout.write(make_renderer(args.format, impact_rows=args.impact, out=args.plan).render(plan))
    return 0
