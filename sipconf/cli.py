"""The entry point: `COMMANDS`, a literal table of the commands, and the error boundary.

Each command lives in its own module, `sipconf.commands.<name>`, with `add_arguments(parser)`
(declares its flags on the parser made here) and `run(args) -> int` (returns the exit code).
Only the module of the command being run is imported, so `sipconf --version` and
`sipconf --help` import no command at all. Expected failures raise `UserError` (exit 1, one
line each, argument errors included); anything else exits 3 and points at the crash log.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
from dataclasses import dataclass

from sipconf import __version__
from sipconf.errors import UserError

EXIT_OK, EXIT_ERROR, EXIT_CRASH = 0, 1, 3


@dataclass(frozen=True)
class Command:
    module: str  # has add_arguments(parser) and run(args) -> int
    help: str


COMMANDS: dict[str, Command] = {
    "apply": Command("sipconf.commands.apply", "apply a spec (or a saved plan) to the live LiveKit project"),
    "explain": Command("sipconf.commands.explain", "explain how LiveKit would route an inbound call"),
    "import": Command("sipconf.commands.import_", "write a spec from the live LiveKit project"),
    "plan": Command("sipconf.commands.plan", "show what apply would change in the live LiveKit project"),
    "schema": Command("sipconf.commands.schema", "print the JSON Schema of the spec"),
    "show": Command("sipconf.commands.show", "show a plan saved with `plan --out`, all of it or as markdown"),
    "status": Command("sipconf.commands.status", "list what is live, by name, with its owner (managed, unmanaged, another project)"),
    "test": Command("sipconf.commands.test", "replay call-flow scenarios and assert where each call went"),
    "up": Command("sipconf.commands.up", "run the embedded LiveKit-compatible control plane locally"),
    "validate": Command("sipconf.commands.validate", "check a spec: fields, references, LiveKit's rules"),
}


class _Parser(argparse.ArgumentParser):
    """Argument errors are expected errors: one line and exit 1, not a usage block and exit 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser for `argv`: every command is listed, only the one `argv` runs is imported."""
    parser = _Parser(prog="sipconf", description="Config-as-code and call-flow tests for LiveKit SIP.")
    parser.add_argument("--version", action="version", version=f"sipconf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _command_word(argv)
    for name, command in COMMANDS.items():
        command_parser = sub.add_parser(name, help=command.help)
        if name == chosen:
            module = importlib.import_module(command.module)
            module.add_arguments(command_parser)
            command_parser.set_defaults(func=module.run)
    return parser


def _command_word(argv: list[str]) -> str | None:
    """The first word that is not an option: sipconf's own options (--help, --version) take
    no value, so that word is the command (or a typo the parser reports)."""
    return next((word for word in argv if not word.startswith("-")), None)


def crash_log_path() -> str:
    return os.path.join(tempfile.gettempdir(), "sipconf-crash.log")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except UserError as err:
        for line in err.lines:
            print(line, file=sys.stderr)
        return EXIT_ERROR
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_ERROR
    try:
        return int(func(args) or 0)
    except UserError as err:
        for line in err.lines:
            print(line, file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `sipconf validate SPEC | head -1`: the reader left; that is not a crash.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception:  # noqa: BLE001 - the crash boundary
        path = crash_log_path()
        with open(path, "w", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        print(f"sipconf crashed (a bug); the traceback is in {path}", file=sys.stderr)
        return EXIT_CRASH
