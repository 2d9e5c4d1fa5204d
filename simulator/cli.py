"""The body of `sipconf test`: read the scenarios (each spec once), pick the target, run,
report, summarise. The spec a scenario runs against is the `desired` it was read with; the
runner, the embedded apply and coverage use that value and never load the spec again."""

from __future__ import annotations

import asyncio
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sipconf.errors import UserError
from sipconf.livekit.target import Target, TargetFlags, resolve_target
from sipconf.model import DesiredState
from simulator import embedded
from simulator.loadtest import run_load
from simulator.reports.coverage import coverage
from simulator.reports.junit import write_junit
from simulator.reports.ladder import html_ladder
from simulator.reports.pcap import write_pcap
from simulator.reports.summary import progress_line, summary
from simulator.runner import Outcome, RunOptions, Runner, environ_for, select
from simulator.scenario.reader import LoadedScenario, load_paths


@dataclass
class TestArgs:
    paths: list[str]
    keyword: str | None = None
    jobs: int = 4
    driver: str | None = None
    junit: str | None = None
    report: str | None = None
    target: TargetFlags = field(default_factory=TargetFlags)  # --url, --api-key, --api-secret, --sip
    min_coverage: float | None = None
    load: float | None = None
    duration: float = 10.0
    spec: str | None = None
    allow_literal_secrets: bool = False  # passwords and PINs written as text, in specs and scenarios


def run_tests(args: TestArgs, out=None) -> int:
    out = out or sys.stdout
    scenarios = select(load_paths(args.paths, spec=args.spec, allow_literal_secrets=args.allow_literal_secrets), args.keyword)
    if not scenarios:
        raise UserError("no scenarios selected" + (f" by -k {args.keyword!r}" if args.keyword else ""))
    # None: no LiveKit given anywhere, so the run starts its own (the embedded default).
    target = resolve_target(args.target, embedded_default=True)
    if args.load is not None:
        return run_load(scenarios, args.load, args.duration, target, out)
    started = time.monotonic()
    needs_bridge = any((args.driver or s.driver) != "inproc" for s in scenarios)
    running: embedded.Embedded | None = None
    if target is None and needs_bridge:
        running = _start_embedded(scenarios, out)
        target = running.target
    try:
        outcomes = _run(scenarios, args, target, out)
    finally:
        if running is not None:
            running.stop()
            print("embedded sipconf up stopped", file=out)
    return _report(outcomes, scenarios, args, time.monotonic() - started, out)


def specs_of(scenarios: list[LoadedScenario]) -> list[DesiredState]:
    """The distinct specs the scenarios run against, in the order of their paths."""
    distinct: dict[int, DesiredState] = {}
    for loaded in sorted(scenarios, key=lambda s: s.spec):
        distinct.setdefault(id(loaded.desired), loaded.desired)
    return list(distinct.values())


def _start_embedded(scenarios: list[LoadedScenario], out) -> embedded.Embedded:
    specs = specs_of(scenarios)
    if len(specs) > 1:
        raise UserError("the embedded default runs one spec at a time; these scenarios use "
                        + ", ".join(s.source for s in specs) + " (run them separately or pass --url)")
    running = embedded.start(mode=scenarios[0].mode)
    print(f"embedded sipconf up: {running.target.url}, SIP on {running.target.sip[0]}:{running.target.sip[1]}", file=out)
    try:
        running.apply(specs[0], environ_for(scenarios[0], os.environ))
    except BaseException:
        running.stop()
        raise
    print(f"applied {specs[0].source}", file=out)
    return running


def _run(scenarios: list[LoadedScenario], args: TestArgs, target: Target | None, out) -> list[Outcome]:
    done = [0]

    def progress(o: Outcome) -> None:
        done[0] += 1
        print(progress_line(o, done[0], len(scenarios)), file=out, flush=True)

    runner = Runner(RunOptions(driver=args.driver, jobs=args.jobs, target=target), progress)
    outcomes = asyncio.run(runner.run(scenarios))
    order = {id(s): i for i, s in enumerate(scenarios)}
    return sorted(outcomes, key=lambda o: order[id(o.loaded)])


def _report(outcomes: list[Outcome], scenarios: list[LoadedScenario], args: TestArgs, seconds: float, out) -> int:
    if args.junit:
        write_junit(Path(args.junit), outcomes)
    cov = coverage(specs_of(scenarios), outcomes)
    if args.report:
        report = Path(args.report)
        for o in outcomes:
            calls = report / "calls"
            write_pcap(calls / f"{_slug(o.loaded.id)}.pcap", o.result.packets)
            (calls / f"{_slug(o.loaded.id)}.html").write_text(html_ladder(o.loaded.id, o.result.packets, o.failures + (o.result.notes if o.failures else []),
                                                                           o.result.media_note), encoding="utf-8")
        report.mkdir(parents=True, exist_ok=True)
        (report / "coverage.txt").write_text("\n".join(cov.lines()) + "\n", encoding="utf-8")
    for line in summary(outcomes, seconds)[:-1]:
        print(line, file=out)
    for line in cov.lines():
        print(line, file=out)
    if args.report:
        print(f"reports: {args.report} (calls/*.pcap, calls/*.html, coverage.txt)", file=out)
    below = args.min_coverage is not None and cov.percent < args.min_coverage
    last = summary(outcomes, seconds)[-1]
    if below:  # the last line is the verdict: it says why a run with no failure exits 1
        last += f"; coverage {below_threshold(cov.percent, args.min_coverage)}% < {args.min_coverage:g}% (--min-coverage)"
    print(last, file=out, flush=True)
    return 0 if not any(o.failed for o in outcomes) and not below else 1


def below_threshold(percent: float, threshold: float) -> str:
    """`percent` as the coverage line shows it (one decimal), unless that would round up to
    the threshold it is below: 99.96% under a 100% floor reads 99.9, never 100.0."""
    shown = f"{percent:.1f}"
    return shown if float(shown) < threshold else f"{math.floor(percent * 10) / 10:.1f}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")
