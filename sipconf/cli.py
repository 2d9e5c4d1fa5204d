"""The only module that parses arguments.

Each command lives in `sipconf.commands.<name>` and exposes `register(subparsers)`, which
adds its parser and sets `func`, a typed function `(args) -> int` returning the exit code.
Expected failures raise `UserError` (exit 1, one line each); anything else exits 3 and
points at the crash log.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import tempfile
import traceback

import sipconf.commands as commands_pkg
from sipconf import __version__
from sipconf.errors import UserError

EXIT_OK, EXIT_ERROR, EXIT_CRASH = 0, 1, 3


class _Parser(argparse.ArgumentParser):
    """Argument errors are expected errors: one line and exit 1, not a usage block and exit 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="sipconf", description="Config-as-code and call-flow tests for LiveKit SIP.")
    parser.add_argument("--version", action="version", version=f"sipconf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _modules_to_register(sys.argv[1:] if argv is None else argv):
        module = importlib.import_module(f"{commands_pkg.__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def _modules_to_register(argv: list[str]) -> list[str]:
    """The command modules the parser needs for `argv`: only the command being run (module
    `import_` is command `import`), none for `--version`, all of them for help or a name that
    is no command. Importing every command would pull the HTTP stack, the bridge and the
    control plane into `sipconf validate`."""
    names = sorted(info.name for info in pkgutil.iter_modules(commands_pkg.__path__))
    for arg in argv:
        if arg in ("-h", "--help"):
            return names  # the top-level help lists every command
        if not arg.startswith("-"):
            return [n for n in names if n.rstrip("_") == arg] or names
    return [] if "--version" in argv else names


def crash_log_path() -> str:
    return os.path.join(tempfile.gettempdir(), "sipconf-crash.log")


def main(argv: list[str] | None = None) -> int:
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
