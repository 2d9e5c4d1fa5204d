"""`sipconf import`: write a spec from the live project."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("import", help="write a spec from the live LiveKit project")
    p.add_argument("--adopt", nargs="*", metavar="NAME", help="take ownership of these objects (no NAME: all of them)")
    p.add_argument("--out", metavar="FILE", help="write the spec here (default: standard output)")
    p.add_argument("--project", help="the sipconf project (default: the only project with a ledger, else 'default')")
    from sipconf.livekit.target import add_target_arguments

    add_target_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from sipconf.plan.importer import import_live, render_yaml
    from sipconf.livekit.target import resolve_target

    target = resolve_target(args)
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
