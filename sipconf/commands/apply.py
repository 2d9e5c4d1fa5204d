"""`sipconf apply SPEC|PLANFILE`: make the live project match."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from typing import Awaitable, Callable, TypeVar

from sipconf.commands._args import (
    add_impact_argument, add_live_spec_arguments, add_only_argument, duration, load_for_live, target_flags,
)
from sipconf.errors import UserError
from sipconf.livekit.target import check_pinned, resolve_target
from sipconf.plan.engine import DEFAULT_PARALLELISM, ApplyInterrupted, Interruption, summary

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
T = TypeVar("T")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SPEC|PLANFILE", help="a spec YAML file, or a plan saved with `plan --out`")
    p.add_argument("--env", default=None, help="apply this environment overlay (with a SPEC)")
    p.add_argument("--auto-approve", action="store_true", help="apply without asking")
    p.add_argument("--force", action="store_true", help="allow mass deletes (>30%%) and unrouting routed numbers")
    add_only_argument(p)
    add_impact_argument(p)
    p.add_argument(
        "--parallelism", type=positive_int, default=DEFAULT_PARALLELISM, metavar="N",
        help=f"send up to N requests at a time (default: {DEFAULT_PARALLELISM})",
    )
    p.add_argument(
        "--lock-timeout", type=duration, default=0.0, metavar="DURATION",
        help="wait this long (30s, 2m) for an apply lock another apply holds (default: 0, fail at once)",
    )
    add_live_spec_arguments(p)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    interruption = Interruption()
    try:
        return _run(args, interruption)
    except ApplyInterrupted as stopped:
        print(stopped, file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        # Before the apply could stop by itself (starting, loading the spec): nothing was
        # written.
        print(summary(0, interruption.total), file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace, interruption: Interruption) -> int:
    from sipconf.plan import saved as saved_plans
    from sipconf.plan.lock import LockWait
    from sipconf.plan.render.text import TextRenderer, summary_line
    from sipconf.plan.workflow import apply_against

    target = resolve_target(target_flags(args))
    print(f"Target: {target.url}", flush=True)
    shown = TextRenderer(impact_rows=args.impact)
    saved = None
    if saved_plans.is_plan_file(args.source):
        if args.only:
            raise UserError(f"--only goes with a spec; {args.source} is a saved plan, which keeps the --only it was made with")
        saved = saved_plans.load(args.source, target)
        desired = saved.desired
    else:
        desired = load_for_live(args.source, args)
    check_pinned(target, desired.url, desired.environment)

    async def confirm(plan) -> bool:
        interruption.total = len(plan.changes)
        sys.stdout.write(shown.render(plan))
        if args.auto_approve or saved is not None:
            return True  # a saved plan was reviewed when it was made (Terraform's `apply FILE`)
        if not sys.stdin.isatty():
            raise UserError("no terminal to confirm the apply; review `sipconf plan` and pass --auto-approve")
        answer = await _ask("Apply these changes? Only 'yes' is accepted: ")
        return answer.strip() == "yes"

    result = asyncio.run(
        _interruptible(
            lambda: apply_against(
                desired, target, saved=saved, force=args.force, confirm=confirm,
                progress=lambda line: print(line, flush=True),
                parallelism=args.parallelism, interruption=interruption,
                only=tuple(args.only),
                lock_wait=LockWait(args.lock_timeout, say=lambda line: print(line, file=sys.stderr, flush=True)),
            ),
            interruption,
        )
    )
    if result.applied == 0:
        if result.ledger_saved:
            print("Brought the ownership ledger up to date (docs/ownership.md).")
        print(summary_line(result.plan))
        return 0
    print(f"Applied {result.applied} change(s).")
    if result.remaining is not None and not result.remaining.empty:
        sys.stdout.write("After applying, the live project still differs:\n")
        sys.stdout.write(shown.render(result.remaining))
        return 1
    print("Read back: the picked objects match the spec." if result.plan.only else "Read back: the live project matches the spec.")
    return 0


async def _interruptible(start: Callable[[], Awaitable[T]], interruption: Interruption) -> T:
    """Run the apply, with Ctrl-C handled so: before the first write, the apply just stops
    (nothing was changed). From the first write on, no new request is started; the requests
    in flight finish and are reported, the ownership ledger is saved, and one line says what
    was applied and what was not (exit 130). A second Ctrl-C exits at once: like a `kill -9`,
    which a rerun picks up from."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    cancelled = False

    def on_ctrl_c() -> None:
        nonlocal cancelled
        if not interruption.writing:
            cancelled = True
            task.cancel()  # reading, planning or reading back: nothing to wait for
        elif not interruption.requested:
            interruption.request()
            print("Stopping: waiting for the requests in flight (Ctrl-C again to quit at once).", file=sys.stderr, flush=True)
        else:
            sys.stdout.flush()
            print(
                f"Quit at once: {interruption.applied} of {interruption.total} change(s) were applied before;"
                " run `sipconf apply` again to finish.",
                file=sys.stderr, flush=True,
            )
            os._exit(EXIT_INTERRUPTED)

    loop.add_signal_handler(signal.SIGINT, on_ctrl_c)
    try:
        return await start()
    except asyncio.CancelledError:
        if not cancelled:
            raise
        raise ApplyInterrupted(interruption.applied, interruption.total) from None
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def _ask(prompt: str) -> str:
    """`input(prompt)` in a helper thread, so that the event loop, and so Ctrl-C, stays live
    while the user thinks: in the main thread, a Ctrl-C that comes between the prompt and the
    read would wait for Enter. The thread is a daemon: an apply stopped at the prompt exits
    without it. End of input counts as no."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(line: str) -> None:
        if not answer.done():
            answer.set_result(line)

    def read() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # the main thread takes Ctrl-C
        try:
            line = input(prompt)
        except EOFError:
            line = ""
        try:
            loop.call_soon_threadsafe(settle, line)
        except RuntimeError:
            pass  # the apply was stopped and its loop closed meanwhile

    threading.Thread(target=read, name="sipconf-prompt", daemon=True).start()
    try:
        return await answer
    except asyncio.CancelledError:
        print(flush=True)  # end the prompt's line, so the summary gets a line of its own
        raise
