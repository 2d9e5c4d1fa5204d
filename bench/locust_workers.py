"""Calls/s per Locust worker: a master and W workers (processes on 127.0.0.1) place the calls
of scenarios/load, asking for more than they can place, first against the reference responder
(bench/reference_uas.py: what a worker itself can do), then against `sipconf up` (the bridge's
limit shows); SIPp (`--load`'s engine) drives each at the same requested rate in the same run.

    python -m bench.locust_workers [--workers 1,2] [--users 60] [--rate 10] [--seconds 20]

Per run: the calls the master's CSV counts, failures, achieved calls/s (calls ÷ seconds), per
worker, and the workers' CPU time per call (their rusage: user + system), which the machine's
other jobs do not inflate the way they do wall-clock rates. The reference answers every INVITE
200, so only the scenarios that expect 200 are placed there. The figures replace the
"## Locust workers" section of bench/RESULTS.md (`make bench` keeps that section).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.plane import process
from sipconf.errors import UserError
from simulator import embedded
from simulator.locust import LOCUSTFILE
from simulator.loadtest import drive
from simulator.ports import free_port
from simulator.runner import environ_for
from simulator.scenario import load_paths

HERE = Path(__file__).resolve().parent
LOAD = HERE.parent / "scenarios" / "load"
SECTION = "## Locust workers"


@dataclass(frozen=True)
class Run:
    target: str
    workers: int
    requested_cps: float
    calls: int
    failures: int
    seconds: float
    cpu_ms_per_call: float  # the workers' CPU time (user + system) per call placed
    load: str  # `uptime`'s load averages when the run ended

    @property
    def achieved_cps(self) -> float:
        return self.calls / self.seconds

    @property
    def per_worker_cps(self) -> float:
        return self.achieved_cps / self.workers


def _wait(proc: subprocess.Popen, timeout: float) -> float:
    """Wait for `proc`; its CPU seconds (user + system)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{proc.args[:4]} did not end in {timeout:g}s")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_locust(name: str, sip: tuple[str, int], select: str, workers: int, users: int, rate: float, seconds: float,
               tmp: Path) -> Run:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "LOCUST_"))}
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    prefix = tmp / f"{name}-{workers}"
    log = open(tmp / f"{name}-{workers}.log", "w")
    master = subprocess.Popen(base + [
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", str(workers), "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s",
        "--stop-timeout", "5", "--csv", str(prefix), "--host", f"{sip[0]}:{sip[1]}",
        "--sip-scenarios", str(LOAD), "--sip-select", select, "--sip-source", "127.0.1.{worker}",
        "--sip-rate", f"{rate:g}"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    procs = [subprocess.Popen(base + ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env=env) for _ in range(workers)]
    try:
        cpu = sum(_wait(p, seconds + 90) for p in procs)
        _wait(master, 30)
    finally:
        log.close()
    with open(f"{prefix}_stats.csv", newline="") as f:
        total = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    calls = int(total["Request Count"])
    return Run(name, workers, users * rate, calls, int(total["Failure Count"]), seconds,
               1000 * cpu / calls if calls else 0.0, load_average())


def drive_sipp(loaded, sip: tuple[str, int], cps: float, seconds: float) -> tuple:
    """SIPp at `cps`: (its report or None, the load average, why it has no report)."""
    try:
        return drive(loaded, sip, cps, seconds, environ_for(loaded, {})), load_average(), ""
    except UserError as err:  # e.g. a collapsed bridge: SIPp's global timeout ends the run
        timed_out = any("timed out" in line for line in err.lines)
        return None, load_average(), err.lines[0] + (" (its global timeout ended the run)" if timed_out else "")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.locust_workers")
    parser.add_argument("--workers", default="1,2", help="worker counts, one run each (against the reference)")
    parser.add_argument("--users", type=int, default=60, help="users in all (spread over the workers)")
    parser.add_argument("--rate", type=float, default=10.0, help="calls/s each user asks for")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    front = next(s for s in load_paths([LOAD]) if s.scenario.name == "front desk")
    requested = args.users * args.rate
    runs: list[Run] = []
    sipp: dict[str, tuple] = {}
    with tempfile.TemporaryDirectory(prefix="sipconf-locust-bench-") as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        with process([sys.executable, str(HERE / "reference_uas.py"), str(port)]):
            for workers in (int(w) for w in args.workers.split(",")):
                runs.append(run_locust("reference", ("127.0.0.1", port), "not refused", workers, args.users, args.rate,
                                       args.seconds, tmp))
                print(runs[-1], flush=True)
            sipp["reference"] = drive_sipp(front, ("127.0.0.1", port), requested, args.seconds)
        running = embedded.start()
        try:
            running.apply(front.desired, environ_for(front, {}))
            runs.append(run_locust("bridge", running.target.sip, "", 1, args.users, args.rate, args.seconds, tmp))
            print(runs[-1], flush=True)
            sipp["bridge"] = drive_sipp(front, running.target.sip, requested, args.seconds)
        finally:
            running.stop()
    command = ("python -m bench.locust_workers " + " ".join(a for a in argv if not a.startswith("--out"))).strip()
    write_section(Path(args.out), render(runs, sipp, command, args))
    print(f"wrote {args.out}")
    return 0


def render(runs: list[Run], sipp: dict[str, tuple], command: str, args) -> str:
    lines = [
        SECTION, "",
        f"`{command}` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores shared with the responder and the",
        "machine's other jobs (load averages given). A master and W workers place the calls of",
        f"scenarios/load with {args.users} users asking for {args.rate:g} calls/s each ({args.users * args.rate:g} calls/s",
        f"asked for in all), {args.seconds:g} s; SIPp (`--load`'s engine) drives the front-desk call at the same rate.",
        "Against the reference responder (bench/reference_uas.py, answers 200 at once) only the scenarios",
        "expecting 200 are placed; against `sipconf up` all three (front desk, sales with digest auth, a 404).",
        "",
        "| target | caller | calls | failed | achieved calls/s | per worker | worker CPU per call | load avg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("reference", "bridge"):
        for r in (r for r in runs if r.target == name):
            lines.append(f"| {name} | Locust, {r.workers} worker{'s' if r.workers > 1 else ''} | {r.calls:,} | "
                         f"{r.failures} | {r.achieved_cps:.1f} | {r.per_worker_cps:.1f} | {r.cpu_ms_per_call:.2f} ms "
                         f"| {r.load} |")
        report, load, why = sipp[name]
        if report is None:
            lines.append(f"| {name} | SIPp | did not finish: {why} | | | | | {load} |")
        else:
            lines.append(f"| {name} | SIPp | {report.calls:,} | {report.failed} | {report.achieved_cps:.1f} | | | {load} |")
    one = next(r for r in runs if r.target == "reference" and r.workers == 1) if any(
        r.target == "reference" and r.workers == 1 for r in runs) else runs[0]
    reference = sipp["reference"][0]
    ratio = f"{reference.achieved_cps / one.achieved_cps:.2f}" if reference is not None else "n/a (SIPp did not finish)"
    lines += ["", f"One worker placed {one.per_worker_cps:.0f} calls/s against the reference; at "
              f"{one.cpu_ms_per_call:.2f} ms of worker CPU per call, a core of its own would place about "
              f"{1000 / one.cpu_ms_per_call:.0f} calls/s. SIPp ÷ one worker, same request, same responder: {ratio}.",
              "", "A Locust user places its next call only once the last one ended (a closed loop); SIPp starts calls",
              "at its rate whatever happened to the last ones (an open loop). Past the bridge's capacity SIPp's calls",
              "therefore pile up and time out, while Locust's users slow down to what the bridge answers.", ""]
    return "\n".join(lines)


def write_section(out: Path, section: str) -> None:
    """Replace this section of RESULTS.md (or add it at the end); the rest stays as it is."""
    text = out.read_text() if out.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
