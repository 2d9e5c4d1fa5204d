"""Whole commands, timed as the user sees them: wall time from start to exit, CPU time and peak
memory from the kernel's accounting of the finished process (`os.wait4`, the figures
`/usr/bin/time -v` prints, taken by bench/rusage.py), over several runs, quoting the median.

The machine is shared, so one run says little: wall time swings with other processes' load,
while CPU time, which they disturb far less, is given beside it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

ROOT = Path(__file__).resolve().parent.parent


class CommandFailed(RuntimeError):
    """A measured command exited non-zero: its figures would not mean anything."""


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, start to exit
    cpu: float  # user + system seconds of the process and the children it waited for
    peak_mb: float  # the largest resident set of the process (or of one waited-for child), 10^6 bytes
    output: str
    marks: tuple[float, ...] = ()  # seconds from the start at which a line starting with `mark` was read


@dataclass(frozen=True)
class Figures:
    """The medians of several runs of one command."""

    wall: float
    cpu: float
    peak_mb: float
    runs: int

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Figures:
        return cls(
            statistics.median(r.wall for r in runs),
            statistics.median(r.cpu for r in runs),
            statistics.median(r.peak_mb for r in runs),
            len(runs),
        )

    def to_json(self) -> dict:
        return {"wall": round(self.wall, 3), "cpu": round(self.cpu, 3), "peak_mb": round(self.peak_mb, 1), "runs": self.runs}


def run_once(argv: Sequence[str], env: Mapping[str, str] | None = None, mark: str | None = None) -> Run:
    """Run `argv` to its end (through bench/rusage.py, which takes its figures); CommandFailed
    (with its last lines) if it exits non-zero. With `mark`, the times at which lines starting
    with it were printed are kept (an apply's progress lines)."""
    with tempfile.TemporaryDirectory(prefix="sipconf-rusage-") as tmp:
        figures = Path(tmp) / "rusage.json"
        wrapped = [sys.executable, "-m", "bench.rusage", str(figures), "--", *map(str, argv)]
        start = time.perf_counter()
        # From the repository root, where `-m bench.rusage` is found.
        proc = subprocess.Popen(wrapped, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True)
        lines, marks = [], []
        for line in proc.stdout:
            lines.append(line)
            if mark is not None and line.startswith(mark):
                marks.append(time.perf_counter() - start)
        proc.stdout.close()
        proc.wait()
        output = "".join(lines)
        if proc.returncode != 0 or not figures.exists():
            tail = "\n".join(output.splitlines()[-5:])
            raise CommandFailed(f"{' '.join(map(str, argv))} exited {proc.returncode}:\n{tail}")
        taken = json.loads(figures.read_text())
    return Run(taken["wall"], taken["cpu"], taken["peak_mb"], output, tuple(marks))


def measure(argv: Sequence[str], runs: int, env: Mapping[str, str] | None = None, warmup: int = 1) -> Figures:
    """The medians of `runs` runs, after `warmup` runs that are not counted (they fill the
    page cache and write bytecode, as an installed package has it)."""
    for _ in range(warmup):
        run_once(argv, env)
    return Figures.of([run_once(argv, env) for _ in range(runs)])
