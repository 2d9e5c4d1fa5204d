"""Drive one responder with SIPp's built-in `uac` scenario and read SIPp's own counters."""

from __future__ import annotations

import csv
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoadResult:
    target_cps: int
    seconds: float
    successful: int
    failed: int
    achieved_cps: float
    sipp_exit: int
    rtt: str = ""  # SIPp's -trace_rtt CSV (Date_ms counts from `started`), when asked for
    started: float = 0.0  # wall-clock time SIPp was started

    def row(self) -> str:
        return f"{self.target_cps} | {self.successful} | {self.failed} | {self.achieved_cps:,.0f}"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sipp_version() -> str:
    out = subprocess.run(["sipp", "-v"], capture_output=True, text=True).stdout
    first = next((line.strip() for line in out.splitlines() if line.strip()), "")
    return first.split(". ")[0].rstrip(".") or "sipp (unknown version)"


def run_uac(target: str, cps: int, seconds: float, service: str = "service", trace_rtt: bool = False) -> LoadResult:
    """`sipp -sn uac` at `cps` for `seconds` against `target` (host:port), loopback only;
    `trace_rtt` keeps each call's setup time (the built-in scenario's rtd: INVITE -> 200)."""
    if not target.startswith("127."):
        raise ValueError("benchmarks only target loopback addresses")
    calls = int(cps * seconds)
    with tempfile.TemporaryDirectory() as tmp:
        stat = Path(tmp) / "stat.csv"
        cmd = [
            "sipp", target, "-sn", "uac", "-s", service, "-i", "127.0.0.1",
            "-p", str(free_port()), "-cp", str(free_port(socket.SOCK_STREAM)), "-mp", str(free_port()),
            "-r", str(cps), "-m", str(calls), "-d", "0", "-l", str(max(cps * 4, 100)),
            "-nostdin", "-trace_stat", "-stf", str(stat), "-fd", "1",
            "-timeout", f"{int(seconds) + 20}s", "-recv_timeout", "5000",
        ] + (["-trace_rtt", "-rtt_freq", "1"] if trace_rtt else [])
        started = time.time()
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        elapsed = time.monotonic() - start
        ok, failed = _counters(stat)
        rtt = "\n".join(p.read_text() for p in Path(tmp).glob("*_rtt.csv"))
    return LoadResult(cps, elapsed, ok, failed, ok / elapsed if elapsed else 0.0, proc.returncode, rtt, started)


def _counters(stat: Path) -> tuple[int, int]:
    if not stat.exists():
        return 0, 0
    rows = list(csv.reader(stat.open(), delimiter=";"))
    if len(rows) < 2:
        return 0, 0
    head, last = rows[0], rows[-1]
    return int(last[head.index("SuccessfulCall(C)")]), int(last[head.index("FailedCall(C)")])
