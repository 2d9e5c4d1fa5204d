"""The bridge at line rate, against a bare reference responder, same run (`python -m bench
--only bridge`, part of `make bench`).

Every figure comes from SIPp's UAC against loopback UDP, each run on a freshly started
responder (bench/responders.py):

1. each responder's clean rate: the highest calls/s with no call failed, found by a search
   over rates, `--seconds` each, with SIPp's built-in `uac` (bench/search.py);
2. call setup (INVITE -> 200) at half the bridge's clean rate: p50/p99 from a capture of the
   bridge's SIP port (bench/capture.py), and SIPp's own view beside it;
3. goodput at twice the bridge's clean rate: calls answered per second of load ÷ the clean
   rate, with bench/uac_shed.xml (`uac` that ACKs a 503): how many got 503 and how fast;
4. the bridge's clean rate with a generated 10,000-number spec ÷ with a 100-number spec
   (`python -m bench.gen_spec`), each caller on its trunk's address dialling its number.

Results replace the "# Bridge benchmark" section of bench/RESULTS.md (up to its next `## `
heading, so the sections after it are kept).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import gen_spec
from bench.capture import capture, percentile, setup_times
from bench.responders import Responder, bridge, prepared_state, reference, sipp_uas
from bench.search import VOTES, Search, clean_rate, is_clean, probe
from bench.sippload import SHED_SCENARIO, LoadResult, run_uac, sipp_version
from simulator.loadtest import rtt_timeline
from simulator.reports.load_chart import Timeline, write as write_chart

HERE = Path(__file__).resolve().parent
SECTION = "# Bridge benchmark"
TITLE = SECTION  # bench/__main__.py keeps the scale section before this one


@dataclass
class Setup:
    rate: int
    capture_ms: dict[int, list[float]]  # status -> INVITE -> final, from the capture
    load: LoadResult


@dataclass
class Figures:
    command: str
    seconds: float
    searches: dict[str, Search] = field(default_factory=dict)  # responder label -> its search
    setup: dict[str, Setup] = field(default_factory=dict)  # responder label -> setup at half the bridge's rate
    goodput: LoadResult | None = None
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    checkout: str = ""  # the commit measured (`commit()`)


def trunk_caller(numbers: int) -> tuple[str, str]:
    """(source address, number dialled) of a caller on the middle trunk of a generated spec."""
    trunks = max(1, -(-numbers // gen_spec.NUMBERS_PER_TRUNK))
    trunk = trunks // 2
    network = gen_spec.allowlist(trunk).split("/")[0]
    return network.rsplit(".", 1)[0] + ".1", gen_spec.number(trunk * gen_spec.NUMBERS_PER_TRUNK)


def commit() -> str:
    """The checkout measured: its commit, and whether code was changed since (RESULTS.md aside)."""
    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE.parent)
        return run.stdout.strip() if run.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
               if not line.endswith(("RESULTS.md", "load-chart.html", "load-chart.json"))]
    return f"commit {head}" + (" with uncommitted changes" if changed else "") if head else "not a git checkout"


def main(argv: list[str], command: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --only bridge", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each SIPp run (default %(default)g)")
    parser.add_argument("--start", type=int, default=250, help="first rate of each search, calls/s (default %(default)s)")
    parser.add_argument("--ceiling", type=int, default=32000, help="highest rate tried (default %(default)s)")
    parser.add_argument("--sipp-uas", action="store_true", help="search SIPp's own `uas` too")
    parser.add_argument("--small", type=int, default=100, help="numbers in the small generated spec")
    parser.add_argument("--large", type=int, default=10000, help="numbers in the large generated spec")
    parser.add_argument("--no-specs", action="store_true", help="skip the generated-spec comparison")
    parser.add_argument("--votes", type=int, default=VOTES,
                        help="probes a rate is judged by at most; the majority decides (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2,
                        help="`sipconf up --workers N` for the bridge: its calls over N processes (default %(default)s,"
                             " one a core of this benchmark's 2-core machine; 1 = one process)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    up_options = ("--workers", str(args.workers)) if args.workers != 1 else ()
    command = command or ("python -m bench --only bridge " + " ".join(argv)).strip()
    figures = Figures(command, args.seconds, load_before=os.getloadavg(), checkout=commit())
    say = lambda text: print(text, flush=True)  # noqa: E731
    seconds = args.seconds

    def uac(target: str, rate: int) -> LoadResult:
        return run_uac(target, rate, seconds)

    with tempfile.TemporaryDirectory(prefix="sipconf-bench-") as tmpdir:
        tmp = Path(tmpdir)
        bench_state = prepared_state(HERE / "spec.yaml", tmp)
        responders: dict[str, Responder] = {"reference_uas.py": reference}
        if args.sipp_uas:
            responders["sipp -sn uas"] = sipp_uas
        responders["sipconf bridge"] = bridge(bench_state, up_options)
        for label, responder in responders.items():
            say(f"{label}: clean rate")
            figures.searches[label] = clean_rate(responder, uac, args.start, args.ceiling, say=say, votes=args.votes)
        clean = figures.searches["sipconf bridge"].clean
        if clean:
            half = max(1, clean // 2)
            for label in ("sipconf bridge", "reference_uas.py"):
                say(f"{label}: setup at {half} calls/s")
                figures.setup[label] = _setup(responders[label], half, seconds, tmp)
            say(f"sipconf bridge: goodput at {2 * clean} calls/s")
            figures.goodput = probe(responders["sipconf bridge"], 2 * clean,
                                    lambda target, rate: run_uac(target, rate, seconds, scenario=SHED_SCENARIO))
            if not args.no_specs:
                for numbers in (args.small, args.large):
                    spec = tmp / f"spec-{numbers}.yaml"
                    spec.write_text(gen_spec.spec_text(numbers))
                    say(f"sipconf bridge, {numbers}-number spec: applying")
                    state = prepared_state(spec, tmp)
                    source, number = trunk_caller(numbers)

                    def dial(target: str, rate: int, source=source, number=number) -> LoadResult:
                        return run_uac(target, rate, seconds, service=number, local_ip=source)

                    say(f"sipconf bridge, {numbers}-number spec: clean rate")
                    figures.searches[f"bridge, {numbers}-number spec"] = clean_rate(
                        bridge(state, up_options), dial, max(10, clean // 4), args.ceiling, say=say, votes=args.votes)
    figures.load_after = os.getloadavg()
    out = Path(args.out)
    bridge_runs = sorted(figures.searches["sipconf bridge"].probes, key=lambda r: r.target_cps)
    say(f"wrote {write_bridge_chart(bridge_runs, out.parent / 'load-chart', seconds)}")
    write_section(out, render(figures, args))
    say(f"wrote {out}")
    return 0


def _setup(responder: Responder, rate: int, seconds: float, tmp: Path) -> Setup:
    pcap = tmp / f"setup-{time.monotonic_ns()}.pcap"
    holder: dict[str, dict[int, list[float]]] = {}

    def load(target: str, cps: int) -> LoadResult:
        with capture(int(target.rsplit(":", 1)[1]), pcap):
            result = run_uac(target, cps, seconds)
        holder["times"] = setup_times(pcap)
        return result

    result = probe(responder, rate, load)
    pcap.unlink(missing_ok=True)
    return Setup(rate, holder.get("times", {}), result)


# -- the section in bench/RESULTS.md ----------------------------------------------------------

def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def _ms(values) -> str:
    return f"{percentile(values, 0.99):.1f} ms" if values else "n/a"


def render(f: Figures, args: argparse.Namespace) -> str:
    ref = f.searches.get("reference_uas.py", Search()).clean
    clean = f.searches.get("sipconf bridge", Search()).clean
    small = f.searches.get(f"bridge, {args.small}-number spec")
    large = f.searches.get(f"bridge, {args.large}-number spec")
    load = lambda avg: " / ".join(f"{x:.2f}" for x in avg)  # noqa: E731
    rows = [
        ("bridge clean calls/s ÷ reference responder clean calls/s, same run", "≥ 0.25", "≥ 0.5",
         f"{_ratio(clean, ref)} (bridge {clean:,}, reference {ref:,} calls/s)"),
    ]
    bridge_setup = f.setup.get("sipconf bridge")
    if bridge_setup is not None:
        answered = bridge_setup.capture_ms.get(200, [])
        ref_setup = f.setup.get("reference_uas.py")
        ref_text = (f"; reference at the same rate {_ms(ref_setup.capture_ms.get(200, []))}"
                    if ref_setup is not None else "")
        rows.append((f"p99 call setup (INVITE -> 200) at half the clean rate ({bridge_setup.rate:,} calls/s)",
                     "< 50 ms", "< 20 ms",
                     f"{_ms(answered)} (p50 {percentile(answered, 0.5):.1f} ms, {len(answered)} calls, capture;"
                     f" SIPp's clock: p99 {percentile(bridge_setup.load.answered_ms, 0.99):.0f} ms{ref_text})"))
    if f.goodput is not None and clean:
        g = f.goodput
        rows.append((f"goodput at 2× the clean rate ({g.target_cps:,} calls/s), share of the clean rate",
                     "≥ 0.9, the rest answered 503 at once", "≥ 0.95",
                     f"{len(g.answered_ms) / f.seconds / clean:.2f} ({len(g.answered_ms):,} answered of"
                     f" {g.calls:,} placed; {len(g.shed_ms):,} got 503, p99 {_ms(g.shed_ms)} after the INVITE;"
                     f" {g.failed:,} failed otherwise)"))
    if small is not None and large is not None:
        rows.append((f"clean calls/s with a {args.large:,}-number spec ÷ with a {args.small:,}-number spec",
                     "≥ 0.9", "≥ 0.95",
                     f"{_ratio(large.clean, small.clean)} ({large.clean:,} vs {small.clean:,} calls/s)"))
    lines = [
        SECTION,
        "",
        f"`{f.command}` ({f.checkout + ', ' if f.checkout else ''}{sipp_version()}),"
        f" recorded {datetime.date.today().isoformat()} on {os.cpu_count()}"
        f" cores shared with SIPp; load average (1/5/15 min) {load(f.load_before)} before, {load(f.load_after)}"
        f" after. The bridge is `sipconf up{' --workers ' + str(args.workers) if args.workers != 1 else ''}`."
        " Every responder is started afresh for each SIPp run of"
        f" {f.seconds:g} s (SIPp's built-in `uac`, loopback UDP: INVITE -> 100/180/200 -> ACK -> BYE -> 200).",
        "",
        "| figure | must | stretch | measured |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "Clean = every call placed completed, none failed, and SIPp placed them at ≥ 90% of the rate asked."
        f" A rate is judged by the majority of up to {args.votes} probes (two that agree decide; a third is run"
        " only when they differ): near a responder's edge one 5 s probe passes or fails by noise."
        " Setup times come from a capture of the bridge's SIP port (kernel timestamps on `lo`); SIPp's own"
        " clock rounds to its loop's ticks of a few ms. Goodput = calls answered ÷ the seconds of load ÷ the"
        " clean rate, with bench/uac_shed.xml (the `uac` scenario that takes a 503 and ACKs it). The spec"
        " comparison calls from the address of the middle trunk of `python -m bench.gen_spec N` and dials"
        " that trunk's first number (an individual rule: a room per call).",
        "",
        "### Probes",
        "",
        "| responder | calls/s | completed | failed | placed at calls/s | clean |",
        "|---|---|---|---|---|---|",
    ]
    for label, search in f.searches.items():
        for p in sorted(search.probes, key=lambda r: r.target_cps):
            lines.append(f"| {label} | {p.target_cps:,} | {p.successful:,} | {p.failed:,} | {p.placed_cps:,.0f} |"
                         f" {'yes' if is_clean(p) else 'no'} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the benchmark's section (up to the next `## ` or `# ` heading), keeping the rest."""
    text = path.read_text() if path.exists() else ""
    start = text.find(SECTION + "\n")
    if start < 0:
        path.write_text(text.rstrip("\n") + ("\n\n" if text else "") + section)
        return
    following = re.compile(r"^#{1,2} ", re.M).search(text, start + len(SECTION) + 1)
    end = following.start() if following else len(text)
    path.write_text(text[:start] + section + ("\n" + text[end:] if following else ""))


def write_bridge_chart(runs: list[LoadResult], stem: Path, seconds: float) -> Path:
    """The bridge's runs of the clean-rate search, one after another, as one per-second chart
    (and its JSON) of calls/s and setup-time percentiles."""
    timeline = Timeline()
    for run in runs:
        rtt_timeline(run.rtt, run.started, timeline)
    rates = ", ".join(f"{run.target_cps}" for run in runs)
    _, page = write_chart(stem, timeline, "make bench: the sipconf bridge under SIPp's uac scenario", [
        f"{sipp_version()} -sn uac at {rates} calls/s, {seconds:g} s each, one after another "
        f"(a pause between rates shows as seconds without calls)",
        "setup time: INVITE to 200 (the built-in scenario's rtd timer, whole milliseconds); a failed call "
        "has no such time and is not drawn (the table in RESULTS.md counts them)",
        time.strftime("run %Y-%m-%d %H:%M %Z")])
    return page


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
