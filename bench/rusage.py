"""`python -m bench.rusage OUT -- COMMAND [ARG ...]`: run the command and write its wall time,
CPU time and peak memory to OUT as JSON; exit with its exit status.

The benchmarks measure through this small process rather than directly: Linux starts a child's
peak-memory figure (`ru_maxrss`) at the size of the process that forked it, so a command
forked by a benchmark that holds a 100,000-number spec would be charged for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m bench.rusage OUT -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    out, command = Path(argv[0]), argv[2:]
    start = time.perf_counter()
    proc = subprocess.Popen(command)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    out.write_text(json.dumps({
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss * 1024 / 1e6,  # Linux reports KiB
        "status": proc.returncode,
    }))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
