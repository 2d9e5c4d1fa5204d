"""`sipconf import`: write a spec from the live project."""

from __future__ import annotations

import argparse
import sys

from sipconf.commands._args import add_target_arguments, target_flags


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adopt", nargs="*", metavar="NAME", help="take ownership of these objects (no NAME: all of them)")
    p.add_argument("--out", metavar="FILE", help="write the spec here (default: standard output)")
    p.add_argument("--project", help="the sipconf project (default: the only project with a ledger, else 'default')")
    add_target_arguments(p)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from sipconf.livekit.target import resolve_target
    from sipconf.plan.importer import import_live, render_yaml

    target = resolve_target(target_flags(args))
    print(f"Target: {target.url}", file=sys.stderr, flush=True)
    result = asyncio.run(import_live(target, project=args.project, adopt_names=args.adopt))
    text = render_yaml(result)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"Wrote {args.out}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    for line in result.skipped:
        print(f"skipped {line}", file=sys.stderr)
    if result.variables:
        print("Set these environment variables (secrets are never exported) before `sipconf plan`:", file=sys.stderr)
        for name, what in result.variables:
            print(f"  {name}  ({what})", file=sys.stderr)
    return 0
