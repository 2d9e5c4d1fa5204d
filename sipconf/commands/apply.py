"""`sipconf apply SPEC|PLANFILE`: make the live project match."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sipconf.commands._args import add_impact_argument, add_live_spec_arguments, load_for_live, target_flags
from sipconf.errors import UserError
from sipconf.livekit.target import check_pinned, resolve_target


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SPEC|PLANFILE", help="a spec YAML file, or a plan saved with `plan --out`")
    p.add_argument("--env", default=None, help="apply this environment overlay (with a SPEC)")
    p.add_argument("--auto-approve", action="store_true", help="apply without asking")
    p.add_argument("--force", action="store_true", help="allow mass deletes (>30%%) and unrouting routed numbers")
    add_impact_argument(p)
    add_live_spec_arguments(p)


def run(args: argparse.Namespace) -> int:
    from sipconf.plan import saved as saved_plans
    from sipconf.plan.render.text import TextRenderer
    from sipconf.plan.workflow import apply_against

    target = resolve_target(target_flags(args))
    print(f"Target: {target.url}", flush=True)
    shown = TextRenderer(impact_rows=args.impact)
    saved = None
    if saved_plans.is_plan_file(args.source):
        saved = saved_plans.load(args.source, target)
        desired = saved.desired
    else:
        desired = load_for_live(args.source, args)
    check_pinned(target, desired.url, desired.environment)

    def confirm(plan) -> bool:
        sys.stdout.write(shown.render(plan))
        if args.auto_approve or saved is not None:
            return True  # a saved plan was reviewed when it was made (Terraform's `apply FILE`)
        if not sys.stdin.isatty():
            raise UserError("no terminal to confirm the apply; review `sipconf plan` and pass --auto-approve")
        answer = input("Apply these changes? Only 'yes' is accepted: ")
        return answer.strip() == "yes"

    result = asyncio.run(
        apply_against(desired, target, saved=saved, force=args.force, confirm=confirm, progress=lambda line: print(line, flush=True))
    )
    if result.applied == 0:
        print("No changes. The live project matches the spec.")
        return 0
    print(f"Applied {result.applied} change(s).")
    if result.remaining is not None and not result.remaining.empty:
        sys.stdout.write("After applying, the live project still differs:\n")
        sys.stdout.write(shown.render(result.remaining))
        return 1
    print("Read back: the live project matches the spec.")
    return 0
