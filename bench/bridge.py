"""The bridge against SIPp's own UAS and a bare asyncio responder, same run (`python -m bench
--only bridge`).

Each responder gets the same SIPp `uac` load (INVITE -> 200 -> ACK -> BYE -> 200) at each rate.
The bridge does the real work per call (trunk match, rule, room, participant, RTP port); the
reference responder does none. Results go to bench/RESULTS.md as ratios, and the bridge's
calls/s and setup-time percentiles, second by second through the rates, to load-chart.html
and load-chart.json beside it (simulator.reports.load_chart, as for every load run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.plane import SIPCONF, embedded_up, process
from bench.results import replace_section
from bench.sippload import LoadResult, free_port, run_uac, sipp_version
from simulator.loadtest import rtt_timeline
from simulator.reports.load_chart import Timeline, write as write_chart

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TITLE = "# Bridge benchmark"


@contextlib.contextmanager
def bridge(tmp: Path):
    """`sipconf up` with the bench spec applied; yields the SIP address."""
    with embedded_up(tmp) as (env, port):
        subprocess.run([SIPCONF, "apply", str(HERE / "spec.yaml"), "--auto-approve"], env=env, check=True,
                       capture_output=True, cwd=ROOT)
        yield f"127.0.0.1:{port}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --only bridge")
    parser.add_argument("--rates", default="250,500,1000,2000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    results: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        sipp_port, ref_port = free_port(), free_port()
        responders = {
            "sipp -sn uas": (["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(sipp_port), "-nostdin",
                              "-cp", str(free_port()), "-mp", str(free_port())], f"127.0.0.1:{sipp_port}"),
            "reference_uas.py": ([sys.executable, str(HERE / "reference_uas.py"), str(ref_port)], f"127.0.0.1:{ref_port}"),
        }
        for name, (cmd, target) in responders.items():
            with process(cmd):
                results[name] = [run_uac(target, r, args.seconds) for r in rates]
                print(name, [(r.target_cps, r.successful, r.failed) for r in results[name]], flush=True)
        with bridge(tmp) as target:
            results["sipconf bridge"] = [run_uac(target, r, args.seconds, trace_rtt=True) for r in rates]
            print("sipconf bridge", [(r.target_cps, r.successful, r.failed) for r in results["sipconf bridge"]], flush=True)
    out = Path(args.out)
    chart = write_bridge_chart(results["sipconf bridge"], out.with_name("load-chart"), args.seconds)
    print(f"wrote {chart}")
    # The section ends at the next heading: the soak's sections below it are kept.
    replace_section(out, TITLE, render(results, rates, args.seconds))
    print(f"wrote {args.out}")
    return 0


def write_bridge_chart(runs: list[LoadResult], stem: Path, seconds: float) -> Path:
    """The bridge's runs, one after another, as one per-second chart (and its JSON)."""
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


def render(results: dict[str, list], rates: list[int], seconds: float) -> str:
    lines = [
        TITLE,
        "",
        f"`make bench` ({sipp_version()}), SIPp built-in `uac` scenario, {seconds:g} s per rate, loopback UDP,",
        f"{os.cpu_count()} cores. Each call: INVITE -> 100/180/200 -> ACK -> BYE -> 200. The bridge routes every",
        "call (trunk match, dispatch rule, room, participant, RTP port) through the embedded control plane.",
        "",
        "| target calls/s | responder | successful | failed | achieved calls/s | bridge ÷ SIPp UAS | bridge ÷ reference |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, rate in enumerate(rates):
        b = results["sipconf bridge"][i].achieved_cps
        for name, rows in results.items():
            r = rows[i]
            ratio_sipp = ratio_ref = ""
            if name == "sipconf bridge":
                ratio_sipp = _ratio(b, results["sipp -sn uas"][i].achieved_cps)
                ratio_ref = _ratio(b, results["reference_uas.py"][i].achieved_cps)
            lines.append(f"| {rate} | {name} | {r.successful} | {r.failed} | {r.achieved_cps:,.0f} | {ratio_sipp} | {ratio_ref} |")
    lines += ["", "Achieved calls/s = successful calls ÷ wall time of the SIPp run (including its tail).", ""]
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
