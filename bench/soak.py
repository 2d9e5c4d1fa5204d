"""`make soak`: the bridge under steady SIPp load, then nothing it built may be left over.

`python -m bench.soak --rate R --seconds S` starts `sipconf up` (a subprocess, rooms closing
`--room-timeout` seconds after their caller left), applies bench/soak.yaml (an individual
rule: every caller gets a room of its own) and drives SIPp's built-in `uac` scenario against
it twice at the same rate: a warm-up that reaches the soak's steady state, then the soak.
After each run it waits until every call ended, every room closed and every SIP transaction
finished lingering (64*T1), then reads the `sipconf up` process: VmRSS from /proc/PID/status,
open descriptors in /proc/PID/fd, asyncio tasks and counters from /metrics. The checks, all
on the soak run:

- SIPp: every call placed completed, none failed;
- the bridge answered each of them and answered nothing else (no 503 shed, no error);
- every answered call's participant joined and left, and its room was created and closed;
- once settled: no call, participant, room or transaction is live;
- RSS at the end is within `--rss-growth` (10%) of RSS after the warm-up; open descriptors
  and asyncio tasks are back to their number after the warm-up.

It prints a short report and exits 1 when a check fails. `--record` writes the report into
the "Soak" section of bench/RESULTS.md; `--json` writes the figures for a test to read.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ruamel.yaml import YAML

from bench.plane import stop
from bench.sippload import LoadResult, run_uac, sipp_version

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "soak.yaml"
RESULTS = HERE / "RESULTS.md"
SECTION = "## Soak"

TRANSACTION_LINGER = 32.0  # 64*T1 (RFC 3261 17): Timers J, L and M keep a finished transaction this long
SETTLE_MARGIN = 30.0  # seconds past the timeouts before "not settled" is a failure
POLL = 0.5
ROOM_TIMEOUT = 2  # seconds: the soak's rooms close soon after their caller left

Metrics = dict[str, float]  # `name{labels}` -> value, as /metrics prints them


@dataclass
class Snapshot:
    """The `sipconf up` process at one point, and its counters."""

    rss_kb: int
    fds: dict[str, str]  # descriptor -> what it is (`udp 127.0.0.1:40000`, a path, ...)
    tasks: int
    metrics: Metrics = field(repr=False)


@dataclass
class UpProcess:
    proc: subprocess.Popen
    url: str
    sip: str
    env: dict[str, str]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def metrics(self) -> Metrics:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as reply:
            return parse_metrics(reply.read().decode())

    @property
    def http_port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def pids(self) -> list[int]:
        """`sipconf up` and its call workers (`--workers`): what the soak counts is theirs together."""
        return [self.pid, *call_workers(self.pid)]

    def snapshot(self) -> Snapshot:
        """Descriptors are listed once the server closed the connections of our own /metrics
        requests (a few seconds at most), then the metrics are read."""
        deadline = time.monotonic() + 5
        fds = self._fds()
        while any(_http_connection(target, self.http_port) for target in fds.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
            fds = self._fds()
        metrics = self.metrics()
        tasks = metric(metrics, "sipconf_asyncio_tasks") + metric(metrics, "sipconf_call_worker_asyncio_tasks")
        return Snapshot(rss_kb=sum(rss_kb(pid) for pid in self.pids()), fds=fds, tasks=int(tasks), metrics=metrics)

    def _fds(self) -> dict[str, str]:
        """Every process's descriptors, the workers' named `pid/fd` by their order (a worker
        started again keeps its place)."""
        found = open_fds(self.pid)
        for n, pid in enumerate(call_workers(self.pid), 1):
            found.update({f"worker{n}/{fd}": target for fd, target in open_fds(pid).items()})
        return found


def call_workers(pid: int) -> list[int]:
    """The call worker processes of `sipconf up` (pid), in the order they were started."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if parent == pid and b"sipconf.commands.call_worker" in command:
            found.append(int(entry))
    return sorted(found)


def _http_connection(target: str, port: int) -> bool:
    return target.startswith("tcp ") and target.endswith(f":{port} connected")


def parse_metrics(text: str) -> Metrics:
    samples: Metrics = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def metric(metrics: Metrics, name: str, **labels: str) -> float:
    """The sum of `name`'s samples that carry every label given."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    total = 0.0
    for key, value in metrics.items():
        base, _, rest = key.partition("{")
        if base == name and all(label in rest for label in wanted):
            total += value
    return total


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


def open_fds(pid: int) -> dict[str, str]:
    """The process's open descriptors; a socket is named by its kind and local address, so a
    leaked one can be told apart (an RTP port, a TCP connection)."""
    sockets = _sockets(pid)
    found: dict[str, str] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue  # closed while listing
        inode = re.fullmatch(r"socket:\[(\d+)\]", target)
        found[fd] = sockets.get(inode.group(1), target) if inode else target
    return found


def _sockets(pid: int) -> dict[str, str]:
    """inode -> `udp 127.0.0.1:5060` from /proc/PID/net (IPv4 only: sipconf up is on 127.0.0.1)."""
    out: dict[str, str] = {}
    for kind in ("udp", "tcp"):
        for line in Path(f"/proc/{pid}/net/{kind}").read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            ip = ".".join(str(b) for b in reversed(bytes.fromhex(address)))
            state = "" if kind == "udp" else " listening" if fields[3] == "0A" else " connected"
            out[fields[9]] = f"{kind} {ip}:{int(port, 16)}{state}"
    return out


@contextmanager
def sipconf_up(tmp: Path, room_timeout: int, spec: Path = SPEC, workers: int = 1) -> Iterator[UpProcess]:
    """`sipconf up` (`--workers`) on free loopback ports with `spec` applied; stopped with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    cmd = [sys.executable, "-m", "sipconf", "up", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0",
           "--state", str(tmp / "state.db"), "--log-level", "WARNING", "--workers", str(workers),
           "--room-empty-timeout", str(room_timeout), "--room-departure-timeout", str(room_timeout)]
    out, log = tmp / "up.out", tmp / "up.log"
    with open(out, "w") as stdout, open(log, "w") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while "\nready\n" not in "\n" + out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                said = [line for line in log.read_text().splitlines() if line.strip()]
                raise RuntimeError("sipconf up did not get ready" + (f": {said[-1]}" if said else ""))
            time.sleep(0.1)
        printed = out.read_text()
        sip = re.search(r"^sip: udp (\S+)", printed, re.M).group(1)
        exports = re.search(r"^export (.*)$", printed, re.M).group(1)
        for pair in exports.split():
            key, _, value = pair.partition("=")
            env[key] = value.strip("'\"")
        applied = subprocess.run([sys.executable, "-m", "sipconf", "apply", str(spec), "--auto-approve"], env=env,
                                 capture_output=True, text=True, cwd=ROOT)
        if applied.returncode != 0:
            said = [line for line in (applied.stdout + applied.stderr).splitlines() if line.strip()]
            raise RuntimeError(f"sipconf apply {spec.name} failed" + (f": {said[-1]}" if said else ""))
        yield UpProcess(proc, env["LIVEKIT_URL"], sip, env)
    finally:
        stop(proc, 30)


LIVE = ("sipconf_sip_calls_in_progress", "sipconf_participants", "sipconf_rooms", "sipconf_sip_transactions")


def settle(up: UpProcess, deadline_s: float) -> tuple[Snapshot, float]:
    """Wait until no call, participant, room or SIP transaction is live; returns the snapshot
    then (or at the deadline) and the seconds waited."""
    start = time.monotonic()
    while True:
        metrics = up.metrics()
        live = [metric(metrics, name) for name in LIVE]
        waited = time.monotonic() - start
        if not any(live) or waited > deadline_s:
            return up.snapshot(), waited
        time.sleep(POLL)


@dataclass
class Figures:
    rate: int
    seconds: float
    warmup_seconds: float
    room_timeout: int
    placed: int
    completed: int
    failed: int
    answered: int
    other_finals: dict[str, int]
    joined: int
    left: int
    rooms_created: int
    rooms_closed: int
    live_after: dict[str, int]
    rss_warm_kb: int
    rss_end_kb: int
    fds_warm: int
    fds_end: int
    fds_new: list[str]
    tasks_warm: int
    tasks_end: int
    settled_seconds: float
    failures: list[str]
    room_per_call: bool = True  # the spec gives every caller a room of its own (else: rooms shared by calls)
    full_collections: int = 0  # of the garbage collector, from the warm-up's snapshot to the end's
    frozen_objects: int = 0  # start-up objects no collection walks (gc.freeze)
    workers: int = 1  # `sipconf up --workers`


def delta(before: Metrics, after: Metrics, name: str, **labels: str) -> int:
    return int(metric(after, name, **labels) - metric(before, name, **labels))


def inbound_finals(metrics: Metrics) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, value in metrics.items():
        match = re.fullmatch(r'sipconf_sip_calls_total\{direction="inbound",status="([^"]*)"\}', key)
        if match:
            found[match.group(1)] = value
    return found


def judge(rate: int, seconds: float, warmup: float, room_timeout: int, load: LoadResult, warm: Snapshot,
          end: Snapshot, settled_seconds: float, rss_growth: float, room_per_call: bool = True) -> Figures:
    before, after = warm.metrics, end.metrics
    placed = int(rate * seconds)  # what SIPp was told to place (-m)
    finals_before, finals_after = inbound_finals(before), inbound_finals(after)
    other = {status: int(finals_after[status] - finals_before.get(status, 0)) for status in finals_after
             if status != "200" and finals_after[status] != finals_before.get(status, 0)}
    live = {name.removeprefix("sipconf_"): int(metric(after, name)) for name in LIVE}
    figures = Figures(
        rate=rate, seconds=seconds, warmup_seconds=warmup, room_timeout=room_timeout,
        placed=placed, completed=load.successful, failed=load.failed,
        answered=delta(before, after, "sipconf_sip_calls_total", direction="inbound", status="200"),
        other_finals=other,
        joined=delta(before, after, "sipconf_participants_joined_total"),
        left=delta(before, after, "sipconf_participants_left_total"),
        rooms_created=delta(before, after, "sipconf_rooms_created_total"),
        rooms_closed=delta(before, after, "sipconf_rooms_closed_total"),
        live_after=live,
        rss_warm_kb=warm.rss_kb, rss_end_kb=end.rss_kb, fds_warm=len(warm.fds), fds_end=len(end.fds),
        fds_new=sorted(target for fd, target in end.fds.items() if warm.fds.get(fd) != target),
        tasks_warm=warm.tasks, tasks_end=end.tasks, settled_seconds=round(settled_seconds, 1), failures=[],
        room_per_call=room_per_call,
        full_collections=delta(before, after, "sipconf_gc_collections_total", generation="2"),
        frozen_objects=int(metric(after, "sipconf_gc_frozen_objects")),
    )
    checks: list[tuple[bool, str]] = [
        (load.failed == 0, f"SIPp counted {load.failed} failed call(s)"),
        (load.successful == placed, f"SIPp completed {load.successful} of {placed} calls placed"),
        (figures.answered == load.successful, f"the bridge answered {figures.answered} call(s), SIPp completed"
                                              f" {load.successful}"),
        (not other, "the bridge sent other final responses: "
         + ", ".join(f"{count} x {status}" for status, count in sorted(other.items()))),
        (figures.joined == figures.left == figures.answered,
         f"participants joined {figures.joined}, left {figures.left}, calls answered {figures.answered}"),
        (figures.rooms_created == figures.rooms_closed == figures.answered if room_per_call
         else figures.rooms_created == figures.rooms_closed,
         f"rooms created {figures.rooms_created}, closed {figures.rooms_closed}, calls answered {figures.answered}"
         + (" (one room per caller)" if room_per_call else "")),
        (not any(live.values()),
         "still live once settled: " + ", ".join(f"{name} {value}" for name, value in live.items() if value)),
        (end.rss_kb <= warm.rss_kb * (1 + rss_growth),
         f"RSS grew {_growth(warm.rss_kb, end.rss_kb)}: {warm.rss_kb} kB after the warm-up, {end.rss_kb} kB at"
         f" the end (limit {rss_growth:.0%})"),
        (len(end.fds) <= len(warm.fds), f"open descriptors {len(warm.fds)} after the warm-up, {len(end.fds)} at the"
                                        " end; new: " + ", ".join(figures.fds_new)),
        (end.tasks <= warm.tasks, f"asyncio tasks {warm.tasks} after the warm-up, {end.tasks} at the end"),
    ]
    figures.failures = [text for ok, text in checks if not ok]
    return figures


def _growth(before: float, after: float) -> str:
    return f"{(after - before) / before:+.1%}" if before else "n/a"


def report(figures: Figures) -> list[str]:
    other = ", ".join(f"{count} x {status}" for status, count in sorted(figures.other_finals.items()))
    live = ", ".join(f"{name} {value}" for name, value in figures.live_after.items())
    lines = [
        f"soak: {figures.rate} calls/s for {figures.seconds:g} s after a {figures.warmup_seconds:g} s warm-up"
        f" at the same rate (rooms close {figures.room_timeout} s after their caller left)",
        f"calls: placed {figures.placed}, completed {figures.completed}, failed {figures.failed};"
        f" bridge answered {figures.answered}, " + (f"other finals {other}" if other else "no other final"),
        f"participants: joined {figures.joined}, left {figures.left}",
        f"rooms: created {figures.rooms_created}, closed {figures.rooms_closed};"
        f" settled {figures.settled_seconds:g} s after the load, live then: {live}",
        f"rss: {figures.rss_warm_kb / 1024:.1f} MiB after the warm-up, {figures.rss_end_kb / 1024:.1f} MiB"
        f" at the end ({_growth(figures.rss_warm_kb, figures.rss_end_kb)})",
        f"fds: {figures.fds_warm} after the warm-up, {figures.fds_end} at the end;"
        f" asyncio tasks: {figures.tasks_warm} -> {figures.tasks_end}",
        f"gc: {figures.full_collections} full collections during the soak; {figures.frozen_objects} objects"
        " frozen at start-up",
    ]
    lines += [f"FAILED: {text}" for text in figures.failures] or ["ok: every check passed"]
    return lines


def room_per_call(spec: Path) -> bool:
    """Whether `spec` routes calls only by individual rules (a room of its own for every caller)."""
    rules = YAML(typ="safe").load(spec.read_text()).get("dispatch_rules") or {}
    return bool(rules) and all("individual" in rule for rule in rules.values())


def run(rate: int, seconds: float, warmup: float, room_timeout: int, rss_growth: float,
        say: Callable[[str], None] = print, spec: Path = SPEC, workers: int = 1) -> Figures:
    with tempfile.TemporaryDirectory(prefix="sipconf-soak-") as tmpdir, \
            sipconf_up(Path(tmpdir), room_timeout, spec, workers) as up:
        # Both snapshots are taken in the same state, nothing live: the warm-up reached the
        # soak's steady state, so the allocator's high-water mark is the same too.
        settle_limit = room_timeout + TRANSACTION_LINGER + SETTLE_MARGIN
        say(f"warm-up: {rate} calls/s for {warmup:g} s against sipconf up (pid {up.pid}, sip {up.sip})")
        warm_load = run_uac(up.sip, rate, warmup)
        warm, _ = settle(up, settle_limit)
        say(f"warm-up: completed {warm_load.successful}, failed {warm_load.failed}; rss {warm.rss_kb} kB,"
            f" fds {len(warm.fds)}, tasks {warm.tasks}")
        say(f"soak: {rate} calls/s for {seconds:g} s")
        load = run_uac(up.sip, rate, seconds)
        end, waited = settle(up, settle_limit)
        figures = judge(rate, seconds, warmup, room_timeout, load, warm, end, waited, rss_growth, room_per_call(spec))
        figures.workers = workers
        return figures


def record(figures: Figures, command: str, path: Path = RESULTS) -> None:
    """Replace (or add) the Soak section of bench/RESULTS.md with this run."""
    today = datetime.date.today().isoformat()
    intro = (f"`{command}` ({sipp_version()}, SIPp built-in `uac` against `sipconf up`, loopback UDP,"
             f" {os.cpu_count()} cores), recorded on {today}. "
             + ("bench/soak.yaml gives every caller a room of its own" if figures.room_per_call else
                "The benchmark's spec (bench/spec.yaml) puts every call in one room")
             + f"; `sipconf up --workers {figures.workers}`. The figures compare the `sipconf up` processes"
             " (memory, descriptors and tasks of all of them together) after the warm-up with the same"
             " processes once the soak's calls, rooms and SIP transactions are all gone.")
    section = [SECTION, "", *textwrap.wrap(intro, 100), "", "```", *report(figures), "```", ""]
    text = path.read_text() if path.exists() else ""
    head, found, rest = text.partition(SECTION)
    tail = ""
    if found:
        following = re.search(r"^## ", rest, re.M)
        tail = rest[following.start():] if following else ""
    path.write_text(head.rstrip("\n") + "\n\n" + "\n".join(section) + ("\n" + tail if tail else ""))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100,
                        help="calls per second (default %(default)s: clean for 60 s on 2 shared cores, bench/RESULTS.md)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the soak (default %(default)g)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="length of the warm-up at the same rate (default: the soak's, at most 40 s: long"
                             " enough for finished transactions to linger as many as during the soak)")
    parser.add_argument("--room-timeout", type=int, default=ROOM_TIMEOUT,
                        help="`sipconf up` room empty and departure timeouts, seconds (default %(default)s)")
    parser.add_argument("--rss-growth", type=float, default=0.10,
                        help="largest RSS growth allowed from the warm-up to the end (default %(default)g)")
    parser.add_argument("--spec", type=Path, default=SPEC,
                        help="the spec applied (default bench/soak.yaml: a room per caller; bench/spec.yaml is the"
                             " benchmark's, one room for every call)")
    parser.add_argument("--workers", type=int, default=2,
                        help="`sipconf up --workers N` (default %(default)s, as the benchmark runs the bridge)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--record", action="store_true", help="write the report into bench/RESULTS.md")
    args = parser.parse_args(argv)
    if args.rate < 1 or args.seconds <= 0 or args.room_timeout < 1:
        parser.error("--rate, --seconds and --room-timeout must be positive")
    warmup = args.warmup if args.warmup is not None else min(args.seconds, 40.0)
    try:
        figures = run(args.rate, args.seconds, warmup, args.room_timeout, args.rss_growth, spec=args.spec,
                      workers=args.workers)
    except (RuntimeError, OSError) as err:
        print(f"soak: {err}", file=sys.stderr)
        return 1
    for line in report(figures):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2) + "\n")
    if args.record:
        command = f"python -m bench.soak --rate {args.rate} --seconds {args.seconds:g}"
        if args.room_timeout != ROOM_TIMEOUT:
            command += f" --room-timeout {args.room_timeout}"
        if args.spec != SPEC:
            command += f" --spec {args.spec}"
        if args.workers != 2:
            command += f" --workers {args.workers}"
        record(figures, command)
    return 1 if figures.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
