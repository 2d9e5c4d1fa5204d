"""`sipconf plan SPEC`: what apply would change in the live project."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sipconf.commands._args import (
    ENV_HELP, add_impact_argument, add_live_spec_arguments, add_only_argument, load_for_live, target_flags,
)
from sipconf.livekit.target import check_pinned, resolve_target

EXIT_NO_CHANGES, EXIT_CHANGES = 0, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="the spec YAML file")
    p.add_argument("--env", default=None, help=ENV_HELP)
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--out", metavar="FILE", help="save the whole plan for `sipconf apply FILE`")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 0 for no changes, 2 for changes, 1 for errors")
    add_only_argument(p)
    add_impact_argument(p)
    add_live_spec_arguments(p)


def run(args: argparse.Namespace) -> int:
    from sipconf.plan.render import make_renderer
    from sipconf.plan.saved import save
    from sipconf.plan.workflow import plan_against

    target = resolve_target(target_flags(args))
    # The target first, before anything can fail, so a log always says where it pointed. JSON
    # and markdown are documents (`> plan.md`, a PR comment) that name the target themselves,
    # so there it goes to stderr and stdout starts with the document.
    print(f"Target: {target.url}", file=sys.stdout if args.format == "text" else sys.stderr, flush=True)
    desired = load_for_live(args.spec, args)
    check_pinned(target, desired.url, desired.environment)
    plan = asyncio.run(plan_against(desired, target, only=tuple(args.only)))
    sys.stdout.write(make_renderer(args.format, impact_rows=args.impact, out=args.out).render(plan))
    if args.out:
        save(plan, args.out, key=target.api_secret)
        print(f"Saved the plan to {args.out}; apply it with `sipconf apply {args.out}`.", file=sys.stderr)
    if args.detailed_exitcode and not plan.empty:
        return EXIT_CHANGES
    return EXIT_NO_CHANGES
