"""Load mode: `sipconf test SCENARIO --load CPS --duration S` drives one inbound scenario at a
rate with SIPp and reports the calls per second achieved, p50/p99 setup time and failures.

Under load SIPp keeps `-trace_msg` off (sipp-notes) and writes `-trace_stat` (counters) and
`-trace_rtt` (one setup time per call: INVITE to its final response, the `rtd` timers) and
`-trace_counts` (messages per scenario line: the calls per final status). A call succeeds
only when its final status is the scenario's expected one (`expect.status`, else 200): the
generated XML (`load_uac_xml`) makes SIPp count any other status, or none, as a failed call.
The generator's own rate is printed beside the result: past its capacity, SIPp's
retransmissions look like loss at the bridge (sipp-notes).

Beside SIPp's counts stand the bridge's own, from `/metrics` on the target's HTTP port,
scraped before and after the run (`simulator.bridge_counts`): INVITEs by final status, shed,
digest challenges and auth failures, and one line saying whether both sides agree. A LiveKit
server serves no such page: one line says so and only SIPp's counts are reported. With
`--report DIR` the run also writes `DIR/load.json` and `DIR/load.html`, calls/s and setup-time
percentiles per second (`simulator.reports.load_chart`).
"""

from __future__ import annotations

import csv
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sipconf.errors import UserError
from sipconf.livekit.target import Target
from simulator import embedded
from simulator.bridge_counts import BridgeCounts, compare, metrics_url, scrape
from simulator.drivers.base import resolve_secret
from simulator.ports import free_port
from simulator.reports.load_chart import Timeline, percentile, write as write_chart
from simulator.runner import environ_for
from simulator.scenario.reader import LoadedScenario
from simulator.sipprun import EXIT_MEANING, auth_uri, sipp_binary, write_private
from simulator.sippxml import load_uac_xml


@dataclass
class LoadReport:
    name: str
    expect: int
    target_cps: float
    duration: float
    calls: int
    succeeded: int
    failed: int
    seconds: float
    setup_ms: list[float]
    sipp_rate: float
    sipp_version: str
    statuses: dict[int, int] = field(default_factory=dict)  # final status -> calls
    failed_ms: list[float] = field(default_factory=list)  # INVITE -> an unexpected final response
    timeline: Timeline = field(default_factory=Timeline)  # each call under the second its final came

    def client_statuses(self) -> dict[str, int]:
        """Final responses SIPp received per status (`none`: calls without one), keyed as the
        bridge's /metrics labels them."""
        out = {str(status): n for status, n in self.statuses.items()}
        if self.no_final:
            out["none"] = self.no_final
        return out

    @property
    def no_final(self) -> int:
        return max(0, self.calls - sum(self.statuses.values()))

    @property
    def achieved_cps(self) -> float:
        return self.succeeded / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        out = [
            f"load: {self.name} (expects {self.expect}), {self.sipp_version}",
            f"target {self.target_cps:g} calls/s for {self.duration:g}s: {self.calls} calls, "
            f"{self.succeeded} succeeded, {self.failed} failed",
        ]
        by_status = [f"{n}x {s}" for s, n in sorted(self.statuses.items())]
        if self.no_final:
            by_status.append(f"{self.no_final}x no final response")
        if by_status:
            out.append("final status: " + ", ".join(by_status))
        out.append(f"achieved {self.achieved_cps:.1f} calls/s (SIPp's own rate {self.sipp_rate:.1f} calls/s)")
        if self.setup_ms:
            out.append(f"setup time of the {len(self.setup_ms)} calls that got {self.expect} (INVITE -> final): "
                       f"p50 {percentile(self.setup_ms, 50):.1f} ms, p99 {percentile(self.setup_ms, 99):.1f} ms")
        else:
            out.append(f"setup time: no call got {self.expect}")
        if self.failed_ms:
            out.append(f"time to the other final responses: p50 {percentile(self.failed_ms, 50):.1f} ms, "
                       f"p99 {percentile(self.failed_ms, 99):.1f} ms")
        return out


def parse_stat(text: str) -> dict[str, str]:
    """The last row of SIPp's `-trace_stat` CSV, by column name."""
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def parse_rtt(text: str, rtd: str = "1") -> list[float]:
    """Setup times (ms) of timer `rtd` from SIPp's `-trace_rtt` CSV
    (`Date_ms;response_time_ms;rtd_no`; a row without rtd_no counts as timer 1)."""
    return [ms for _, ms, timer in parse_rtt_rows(text) if timer == rtd]


def parse_rtt_rows(text: str) -> list[tuple[float, float, str]]:
    """(Date_ms, response_time_ms, rtd_no) of every row of a `-trace_rtt` CSV that parses.
    Date_ms is when the timer stopped (the final response came), on SIPp's own clock."""
    out = []
    for row in csv.reader(text.splitlines(), delimiter=";"):
        if len(row) < 2:
            continue
        try:
            out.append((float(row[0]), float(row[1]), row[2].strip() if len(row) >= 3 else "1"))
        except ValueError:
            continue  # the header, or a torn line
    return out


def rtt_timeline(text: str, started: float, timeline: Timeline | None = None) -> Timeline:
    """Each call of a `-trace_rtt` CSV under the second its final response came (SIPp's
    Date_ms counts from its start, the wall-clock time `started`): timer 1 (the expected
    status) succeeded, timer 2 (any other) failed. Added to `timeline` when given."""
    timeline = Timeline() if timeline is None else timeline
    for date_ms, ms, timer in parse_rtt_rows(text):
        if timer in ("1", "2"):
            timeline.add(started + date_ms / 1000, ms, timer == "1")
    return timeline


def parse_counts(text: str) -> dict[int, int]:
    """Final responses received per status, from SIPp's `-trace_counts` CSV (its last row;
    columns like `18_503_Recv`, one per scenario line)."""
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    out: dict[int, int] = {}
    oks: list[int] = []  # the 200 lines, in scenario order
    for name, value in zip(rows[0], rows[-1]):
        parts = name.split("_")
        if len(parts) != 3 or parts[2] != "Recv" or not parts[1].isdigit():
            continue
        status = int(parts[1])
        if status < 200 or not value.strip().isdigit():
            continue
        if status == 200:
            oks.append(int(value))
        else:
            out[status] = out.get(status, 0) + int(value)
    # Every 200 line answers an INVITE (the first one, or its retry with credentials) except
    # the last: the BYE's, which the generated scenario (`load_uac_xml`) waits for at its end.
    if len(oks) > 1:
        out[200] = sum(oks[:-1])
    return {s: n for s, n in out.items() if n}


def run_load(scenarios: list[LoadedScenario], cps: float, duration: float, target: Target | None, out,
             report_dir: Path | None = None) -> int:
    """`--load CPS --duration S` against `target`, or (None) an embedded control plane of its own;
    with `report_dir`, the per-second chart and its JSON are written there."""
    if len(scenarios) != 1:
        raise UserError(f"--load drives exactly one scenario; {len(scenarios)} selected (narrow with -k)")
    loaded = scenarios[0]
    if loaded.scenario.call.direction != "inbound":
        raise UserError(f"{loaded.origin}: --load drives inbound calls (SIPp as the caller)")
    if cps <= 0 or duration <= 0:
        raise UserError("--load and --duration must be positive")
    running = None
    if target is None:
        running = embedded.start(mode=loaded.mode)
        try:
            running.apply(loaded.desired, environ_for(loaded, os.environ))
        except BaseException:
            running.stop()
            raise
        target = running.target
    try:
        before = scrape(target.url)
        report = drive(loaded, target.sip, cps, duration, environ_for(loaded, os.environ))
        after = scrape(target.url) if before is not None else None
    finally:
        if running is not None:
            running.stop()
    for line in report.lines() + bridge_lines(report, target.url, before, after):
        print(line, file=out)
    if report_dir is not None:
        _, page = write_chart(report_dir / "load", report.timeline, f"sipconf test --load: {loaded.id}", [
            f"target {cps:g} calls/s for {duration:g} s ({report.sipp_version.rstrip('.')}); "
            "each call set up and hung up at once",
            "setup time: INVITE to the expected final response (SIPp's -trace_rtt timer 1); a call with no final "
            "response has no end time there and is not drawn"])
        print(f"chart: {page} (and load.json)", file=out)
    print(f"{report.succeeded} passed, {report.failed} failed", file=out)
    return 0 if report.failed == 0 and report.calls > 0 and report.succeeded == report.calls else 1


def bridge_lines(report: LoadReport, url: str, before: BridgeCounts | None, after: BridgeCounts | None) -> list[str]:
    """The bridge's own counts for the run beside SIPp's, or one line saying there are none."""
    if before is None or after is None:
        return [f"bridge: no sipconf /metrics at {metrics_url(url)} (a LiveKit server serves none): "
                "client-side counts only"]
    counted = after.since(before)
    return [counted.line(), compare(report.client_statuses(), counted)]


def drive(loaded: LoadedScenario, sip: tuple[str, int], cps: float, duration: float, environ) -> LoadReport:
    call = loaded.scenario.call
    expect = loaded.scenario.expect.status or 200
    total = max(1, int(cps * duration))
    bare = loaded.scenario.model_copy(update={"steps": []})  # set up and hang up at once
    # The password goes into the scenario XML, in a private folder removed after the run:
    # `-ap` would show it to every local user in `ps`.
    credentials = (call.auth.username, resolve_secret(call.auth.password, environ)) if call.auth is not None else None
    with tempfile.TemporaryDirectory(prefix="sipconf-load-") as tmp:
        work = Path(tmp)
        write_private(work / "load.xml", load_uac_xml(bare, sip[0], expect=expect, credentials=credentials))
        cmd = [sipp_binary(), "-sf", str(work / "load.xml"), f"{sip[0]}:{sip[1]}", "-i", call.source,
               "-p", str(free_port(call.source)), "-cp", str(free_port()), "-mp", str(free_port(call.source, 4)),
               "-r", f"{cps:g}", "-m", str(total), "-l", str(max(10, int(cps * 5))), "-t", "u1", "-nostdin",
               "-cid_str", "sipconf-load-%u-%p", "-trace_stat", "-stf", str(work / "stat.csv"), "-fd", "1",
               "-trace_rtt", "-rtt_freq", "1", "-trace_counts", "-nd", "-timeout", f"{int(duration + 30)}s", "-timeout_error"]
        if call.auth is not None:  # not secret: the digest uri must be the Request-URI
            cmd += ["-auth_uri", auth_uri(call.to, sip)]
        wall_start = time.time()
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=duration + 60, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        if done.returncode not in (0, 1):
            raise UserError(f"sipp: {EXIT_MEANING.get(done.returncode, f'exit {done.returncode}')}",
                            *done.stderr.strip().splitlines()[-3:])
        stat = parse_stat((work / "stat.csv").read_text(encoding="utf-8", errors="replace"))
        rtt = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in work.glob("*_rtt.csv"))
        counts = "".join(p.read_text(encoding="utf-8", errors="replace") for p in work.glob("*_counts.csv"))
    version = subprocess.run([sipp_binary(), "-v"], capture_output=True, text=True).stdout.strip().splitlines()
    succeeded = int(stat.get("SuccessfulCall(C)", 0) or 0)
    failed = int(stat.get("FailedCall(C)", 0) or 0)
    return LoadReport(loaded.id, expect, cps, duration, int(stat.get("TotalCallCreated", 0) or 0), succeeded, failed,
                      seconds, parse_rtt(rtt, "1"), float(stat.get("CallRate(C)", 0) or 0),
                      version[0].strip() if version else "sipp", parse_counts(counts), parse_rtt(rtt, "2"),
                      rtt_timeline(rtt, wall_start))
