"""`sipconf status`: what is live in the target, by name, with its owner (`lk sip ... list`)."""

from __future__ import annotations

import argparse
import sys

from sipconf.commands._args import add_target_arguments, target_flags


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", help="whose objects count as managed (default: the only project with a ledger, else 'default')")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    add_target_arguments(p)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from sipconf.livekit.target import resolve_target
    from sipconf.plan.render.status import render_status_json, render_status_text
    from sipconf.plan.status import read_status

    target = resolve_target(target_flags(args))
    status = asyncio.run(read_status(target, args.project))
    sys.stdout.write(render_status_json(status) if args.json else render_status_text(status))
    return 0
