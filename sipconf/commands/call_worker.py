"""The process of one call worker of `sipconf up --workers N` (`sipconf.bridge.worker`): the
main process starts it, never a user. It reads trunks and rules from the state file over a
connection of its own and runs with the main process's logging, loop and collector settings."""

from __future__ import annotations

import argparse
import json
import os
import sys

from sipconf.bridge.front import die_with_parent
from sipconf.bridge.worker import Worker
from sipconf.commands.up import configure_logging, run_on_loop, tune_gc
from sipconf.local.bridge_adapter import StoreDirectory
from sipconf.local.store import StateStore

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sipconf.commands.call_worker", description=__doc__.split("\n")[0])
    for name in ("--shard", "--shards", "--udp-fd", "--link-fd", "--control-fd", "--parent"):
        parser.add_argument(name, type=int, required=name != "--parent", default=0)
    parser.add_argument("--state", required=True)
    parser.add_argument("--options", default="{}")
    args = parser.parse_args(argv)
    die_with_parent()
    if args.parent and os.getppid() != args.parent:
        return 0
    options = json.loads(args.options)
    configure_logging(options.pop("log_level", "INFO"))
    event_loop = options.pop("event_loop", "auto")
    worker = Worker(args, options, StoreDirectory.of(StateStore(args.state)), tune=tune_gc)
    run_on_loop(worker.run(), event_loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
