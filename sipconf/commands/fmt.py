"""`sipconf fmt [FILES] [--check]`: rewrite specs in the one form (sipconf.spec.fmt).

A file that does not load is reported as `validate` reports it (`file:line:col` lines) and
left untouched. With no FILES, the spec is read from stdin and written to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sipconf.model import DesiredState


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE", help="spec files to format in place (none: stdin to stdout)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 listing the files that would change")


def run(args: argparse.Namespace) -> int:
    from sipconf.spec import load, loads

    if not args.files:
        text = sys.stdin.read()
        formatted = _formatted(lambda: (loads(text, "<stdin>", allow_literal_secrets=True), text), "<stdin>")
        if formatted is None:
            return 1
        out, changed = formatted
        if args.check:
            if changed:
                print("would reformat <stdin>")
            return 1 if changed else 0
        sys.stdout.write(out)
        return 0
    failed = False
    for path in args.files:
        formatted = _formatted(
            lambda: (load(path, allow_literal_secrets=True), Path(path).read_text(encoding="utf-8")), path
        )
        if formatted is None:
            failed = True
            continue
        text, changed = formatted
        if not changed:
            continue
        if args.check:
            print(f"would reformat {path}")
            failed = True
        else:
            _write(Path(path), text)
            print(f"reformatted {path}")
    return 1 if failed else 0


def _formatted(read: Callable[[], tuple[DesiredState, str]], source: str) -> tuple[str, bool] | None:
    """(the formatted text, whether it differs), or None after printing why the spec `read`
    returns (its load and its text) does not load."""
    from sipconf.issues import sort_issues
    from sipconf.spec import SpecError, loads
    from sipconf.spec.fmt import format_text, same_meaning

    try:
        before, text = read()
    except SpecError as err:
        for issue in sort_issues(list(dict.fromkeys(err.issues))):
            print(issue, file=sys.stderr)
        return None
    out = format_text(text)
    if out == text:
        return text, False
    # A formatter must never change what a spec means: refuse (a crash, exit 3) rather than write.
    if not same_meaning(before, loads(out, source, allow_literal_secrets=True)):
        raise RuntimeError(f"formatting {source} would change what it means; the file was left as it was")
    return out, True


def _write(path: Path, text: str) -> None:
    """Replace the file in one step (a crash leaves the old spec or the new one, never half),
    keeping its permissions."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
