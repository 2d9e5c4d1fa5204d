"""Drive one responder with a SIPp UAC scenario and read SIPp's own counters and response times.

Every run traces SIPp's response times (`-trace_rtt -rtt_freq 1`: one line per call and
timer). Timer 1 is INVITE -> 200 (SIPp's built-in `uac` stops it on the 200); in
bench/uac_shed.xml timer 2 is INVITE -> 503. From those lines come the rate at which SIPp
really placed the calls (a UAC past its own capacity places them late, and that must not pass
for a responder keeping up) and the setup times as SIPp saw them (SIPp's clock ticks in
milliseconds and its main loop rounds them up to a few: the exact figures come from a capture,
bench/capture.py).
"""

from __future__ import annotations

import csv
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHED_SCENARIO = HERE / "uac_shed.xml"  # `uac` that also takes a 503 (and ACKs it)


@dataclass(frozen=True)
class LoadResult:
    target_cps: int
    seconds: float
    successful: int
    failed: int
    achieved_cps: float
    sipp_exit: int
    rtt: str = ""  # SIPp's -trace_rtt CSV (Date_ms counts from `started`)
    started: float = 0.0  # wall-clock time SIPp was started
    answered_ms: tuple[float, ...] = ()  # INVITE -> 200 per answered call, SIPp's clock (timer 1)
    shed_ms: tuple[float, ...] = ()  # INVITE -> 503 per refused call (timer 2, bench/uac_shed.xml only)
    placed_cps: float = 0.0  # calls ÷ the time SIPp took to send their INVITEs
    calls: int = 0  # calls SIPp was told to place (-m)

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


def run_uac(target: str, cps: int, seconds: float, service: str = "service", local_ip: str = "127.0.0.1",
            scenario: Path | None = None, trace_rtt: bool = True) -> LoadResult:
    """SIPp at `cps` for `seconds` against `target` (host:port) from `local_ip`, loopback only:
    its built-in `uac`, or the `scenario` file. Each call's setup time is always traced (rtd 1:
    INVITE -> 200; rtd 2: INVITE -> 503), so `trace_rtt` is kept only for older callers."""
    if not target.startswith("127.") or not local_ip.startswith("127."):
        raise ValueError("benchmarks only use loopback addresses")
    calls = max(1, int(cps * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        stat = Path(tmp) / "stat.csv"
        which = ["-sf", str(scenario)] if scenario is not None else ["-sn", "uac"]
        cmd = [
            "sipp", target, *which, "-s", service, "-i", local_ip,
            "-p", str(free_port()), "-cp", str(free_port(socket.SOCK_STREAM)), "-mp", str(free_port()),
            "-r", str(cps), "-m", str(calls), "-d", "0", "-l", str(max(cps * 4, 100)),
            "-nostdin", "-trace_stat", "-stf", str(stat), "-fd", "1",
            "-trace_rtt", "-rtt_freq", "1",
            "-timeout", f"{int(seconds) + 20}s", "-recv_timeout", "5000",
        ]
        started = time.time()
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)  # the rtt file lands in cwd
        elapsed = time.monotonic() - start
        ok, failed = _counters(stat)
        rtt_file = next(Path(tmp).glob("*_rtt.csv"), None)
        times = read_rtt(rtt_file)
        rtt = rtt_file.read_text() if rtt_file is not None else ""
    answered, shed = times.get(1, []), times.get(2, [])
    return LoadResult(cps, elapsed, ok, failed, ok / elapsed if elapsed else 0.0, proc.returncode,
                      answered_ms=tuple(ms for _, ms in answered), shed_ms=tuple(ms for _, ms in shed),
                      placed_cps=placed_rate(answered + shed), calls=calls, rtt=rtt, started=started)


def read_rtt(path: Path | None) -> dict[int, list[tuple[float, float]]]:
    """SIPp's rtt file: timer -> [(ms since SIPp started when the timer stopped, duration ms)]."""
    found: dict[int, list[tuple[float, float]]] = {}
    if path is None or not path.exists():
        return found
    with path.open() as lines:
        rows = csv.reader(lines, delimiter=";")
        next(rows, None)  # Date_ms;response_time_ms;rtd_no
        for row in rows:
            if len(row) >= 3 and row[2].strip().isdigit():
                found.setdefault(int(row[2]), []).append((float(row[0]), float(row[1])))
    return found


def placed_rate(times: list[tuple[float, float]]) -> float:
    """Calls per second at which the INVITEs went out: each call started `duration` before its
    timer stopped."""
    if len(times) < 2:
        return 0.0
    starts = sorted(stopped - duration for stopped, duration in times)
    span = (starts[-1] - starts[0]) / 1000
    return (len(starts) - 1) / span if span > 0 else 0.0


def _counters(stat: Path) -> tuple[int, int]:
    if not stat.exists():
        return 0, 0
    with stat.open() as lines:
        rows = list(csv.reader(lines, delimiter=";"))
    if len(rows) < 2:
        return 0, 0
    head, last = rows[0], rows[-1]
    return int(last[head.index("SuccessfulCall(C)")]), int(last[head.index("FailedCall(C)")])
