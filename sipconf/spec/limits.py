"""How big a spec sipconf loads: 16 MiB of YAML and 1,000,000 numbers once ranges expand.

Both grow together with `--max-spec-size MIB` (62,500 numbers per MiB). Without a limit a
stray file or a few thousand ranges of 10,000 numbers each would take the machine's memory
before any error could be shown; with one, the answer is a line at `file:1:1` saying which
limit was passed and the flag value that lifts it. `SIPCONF_MAX_SPEC_SIZE` sets the default,
so the commands `sipconf test` runs for a suite load its spec with the same limit.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass

from sipconf.errors import UserError
from sipconf.issues import Issue
from sipconf.model import Origin

DEFAULT_MIB = 16
NUMBERS_PER_MIB = 62_500
ENV_VAR = "SIPCONF_MAX_SPEC_SIZE"
FLAG = "--max-spec-size"
CODE = "spec-too-large"
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    mib: float = DEFAULT_MIB

    @property
    def max_bytes(self) -> int:
        return int(self.mib * MIB)

    @property
    def max_numbers(self) -> int:
        return int(self.mib * NUMBERS_PER_MIB)

    def file_issue(self, source: str, size: int) -> Issue | None:
        """The issue for a file of `size` bytes, or None when it is within the limit."""
        if size <= self.max_bytes:
            return None
        return Issue(
            "error", CODE,
            f"the spec is {_size(size)}, more than the limit of {_mib(self.mib)} MiB;"
            f" raise it with {FLAG} {math.ceil(size / MIB)}",
            Origin(source, 1, 1),
        )

    def numbers_issue(self, source: str, count: int) -> Issue | None:
        """The issue for a spec of `count` numbers (ranges expanded), or None when within the limit."""
        if count <= self.max_numbers:
            return None
        return Issue(
            "error", CODE,
            f"the spec lists {count:,} numbers once its ranges are expanded, more than the limit of"
            f" {self.max_numbers:,}; raise it with {FLAG} {math.ceil(count / NUMBERS_PER_MIB)}"
            f" ({NUMBERS_PER_MIB:,} numbers per MiB)",
            Origin(source, 1, 1),
        )


def _mib(value: float) -> str:
    return f"{value:g}"


def _size(size: int) -> str:
    if size >= MIB:
        return f"{size / MIB:.1f} MiB"
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size:,} bytes"


def parse_mib(text: str) -> float:
    """A flag or variable value: a number of MiB above 0."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a size in MiB (a number above 0), got {text!r}") from None
    if not value > 0 or math.isinf(value):  # also refuses nan
        raise ValueError(f"expected a size in MiB (a number above 0), got {text!r}")
    return value


def default_limits() -> Limits:
    """The limits when no flag says otherwise: SIPCONF_MAX_SPEC_SIZE if set and valid, else 16 MiB."""
    text = os.environ.get(ENV_VAR)
    if not text:
        return Limits()
    try:
        return Limits(parse_mib(text))
    except ValueError as exc:
        raise UserError(f"{ENV_VAR}: {exc}") from None


def mib_argument(text: str) -> float:
    try:
        return parse_mib(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        FLAG, type=mib_argument, default=None, metavar="MIB",
        help=f"load specs up to MIB mebibytes and {NUMBERS_PER_MIB:,} numbers per MiB once ranges expand"
             f" (default {DEFAULT_MIB}: 1,000,000 numbers; also {ENV_VAR})",
    )


def from_args(args: argparse.Namespace) -> Limits:
    value = getattr(args, "max_spec_size", None)
    return Limits(value) if value is not None else default_limits()
