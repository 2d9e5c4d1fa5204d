"""The "Scale" section of bench/RESULTS.md, written from bench/scale_figures.json: each figure
beside its must and stretch goals, whether it meets them, and the detail behind it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

TITLE = "# Scale: validate, plan, apply and route at size (figures beside their goals)"


@dataclass(frozen=True)
class Goal:
    figure: str
    must: str
    stretch: str
    part: str  # the bench part that measures it
    measured: Callable[[dict], str]
    meets: Callable[[dict, str], tuple[bool, bool]]  # (must, stretch) judged on "wall" or "cpu" time
    profile: str | None = None  # the key of its profile in bench/scale_profiles.md, when there is one
    one_process: bool = True  # the command does all the work itself, so its CPU time is a fair second view


def _seconds(fig: dict) -> str:
    return f"{fig['wall']:.2f} s ({fig['cpu']:.2f} s CPU)"


def _validate(f: dict, size: str) -> dict:
    return f["compile"]["validate"][size]


def _ratio(f: dict, clock: str = "wall") -> float:
    return _validate(f, "10000")[clock] / _validate(f, "1000")[clock]


def _rates(f: dict) -> str:
    return ", ".join(f"{row['index']:,.0f}/s at {row['numbers']:,} numbers" for row in f["routing"]["rows"])


def _lowest_rate(f: dict) -> float:
    return min(row["index"] for row in f["routing"]["rows"])


def _flatness(f: dict) -> float:
    """The largest size's rate over the smallest's: paired repetition by repetition (their
    median) when bench.routing gave them, else the ratio of the two rates."""
    if "flatness" in f["routing"]:
        return f["routing"]["flatness"]["median"]
    rows = f["routing"]["rows"]
    return rows[-1]["index"] / rows[0]["index"]


def _flatness_text(f: dict) -> str:
    flat = f["routing"].get("flatness")
    if flat is None or flat["low"] == flat["high"]:
        return f"{_flatness(f):.2f}"
    return f"{flat['median']:.2f} (repetitions {flat['low']:.2f}–{flat['high']:.2f})"


def _startup(f: dict, clock: str) -> float:
    return max(f["compile"]["version"][clock], f["compile"]["demo"][clock])


GOALS = (
    Goal(
        "`sipconf validate`, 10k numbers / 1k trunks / 2k rules", "< 3 s, < 200 MB", "< 1 s", "compile",
        lambda f: f"{_seconds(_validate(f, '10000'))}, {_validate(f, '10000')['peak_mb']:.0f} MB",
        lambda f, c: (_validate(f, "10000")[c] < 3 and _validate(f, "10000")["peak_mb"] < 200, _validate(f, "10000")[c] < 1),
        "validate-10000",
    ),
    Goal(
        "`sipconf validate`, 100k numbers", "< 30 s", "< 10 s", "compile",
        lambda f: f"{_seconds(_validate(f, '100000'))}, {_validate(f, '100000')['peak_mb']:.0f} MB",
        lambda f, c: (_validate(f, "100000")[c] < 30, _validate(f, "100000")[c] < 10),
        "validate-100000",
    ),
    Goal(
        "time(10k) ÷ time(1k)", "≤ 12 (linear)", "≤ 11", "compile",
        lambda f: f"{_ratio(f):.1f} ({_ratio(f, 'cpu'):.1f} in CPU time)",
        lambda f, c: (_ratio(f, c) <= 12, _ratio(f, c) <= 11),
    ),
    Goal(
        "`plan` of the 10k spec against a live project that already holds it", "< 5 s", "< 2 s", "plan",
        lambda f: f"{_seconds(f['plan']['plan'])}",
        lambda f, c: (f["plan"]["plan"]["wall"] < 5, f["plan"]["plan"]["wall"] < 2),
        "plan", one_process=False,
    ),
    Goal(
        "`apply` of 1,000 objects to the embedded plane", "< 20 s", "< 10 s", "apply",
        lambda f: f"{f['apply']['apply']['wall']:.1f} s ({f['apply']['sending']:.1f} s of it sending the changes)",
        lambda f, c: (f["apply"]["apply"]["wall"] < 20, f["apply"]["apply"]["wall"] < 10),
        "apply", one_process=False,
    ),
    Goal(
        "routing decisions/s (index, no trace)", "≥ 30k/s", "≥ 100k/s", "routing", _rates,
        lambda f, c: (_lowest_rate(f) >= 30_000, _lowest_rate(f) >= 100_000), one_process=False,
    ),
    Goal(
        "routing decisions/s, 100k numbers ÷ 100 numbers", "≥ 0.8 (flat)", "≥ 0.9", "routing",
        _flatness_text,
        lambda f, c: (_flatness(f) >= 0.8, _flatness(f) >= 0.9), one_process=False,
    ),
    Goal(
        "`sipconf --version`; `validate` of the demo spec", "< 0.5 s", "< 0.3 s (lazy imports)", "compile",
        lambda f: f"{_seconds(f['compile']['version'])}; {_seconds(f['compile']['demo'])}",
        lambda f, c: (_startup(f, c) < 0.5, _startup(f, c) < 0.3),
        "demo",
    ),
)


def verdict(goal: Goal, figures: dict) -> str:
    """Judged on the median wall time; where that misses and the command's CPU time (which a
    busy machine does not inflate) meets the goal, that is said too."""
    text = _verdict(*goal.meets(figures, "wall"))
    if goal.one_process and goal.meets(figures, "cpu") != goal.meets(figures, "wall"):
        text += f"; in CPU time: {_verdict(*goal.meets(figures, 'cpu'))}"
    return text


def _verdict(must: bool, stretch: bool) -> str:
    if stretch:
        return "must and stretch met"
    return "must met, stretch not" if must else "**must not met**"


def short_of_stretch(figures: dict, parts: list[str]) -> list[Goal]:
    """The goals of `parts` whose figure misses the stretch goal."""
    return [g for g in GOALS if g.part in parts and g.part in figures and not g.meets(figures, "wall")[1]]


def render(figures: dict) -> str:
    lines = [
        TITLE,
        "",
        "`make bench` (or `python -m bench --only scale`) writes this section from bench/scale_figures.json:",
        "whole commands on specs from `python -m bench.gen_spec N` (N/10 inbound trunks of 10 numbers, each",
        "with an address allowlist and a header mapping; an individual rule and a callee rule per trunk,",
        f"each on half its numbers), {os.cpu_count()} cores shared with other jobs (load average at the start",
        "and end of each part below). Times are medians of several runs after a warm-up run: wall time",
        "start to exit, and the process's CPU time beside it, which other jobs disturb far less.",
        "",
        "| figure | must | stretch | measured | verdict |",
        "|---|---|---|---|---|",
    ]
    for goal in GOALS:
        if goal.part not in figures:
            lines.append(f"| {goal.figure} | {goal.must} | {goal.stretch} | not measured yet | |")
            continue
        lines.append(f"| {goal.figure} | {goal.must} | {goal.stretch} | {goal.measured(figures)} | {verdict(goal, figures)} |")
    lines += ["", "How each part was measured:", ""]
    for part in ("compile", "plan", "apply", "routing"):
        if part in figures:
            rec = figures[part]["recorded"]
            runs = f"median of {rec['runs']} run(s)"
            if part == "routing":  # its own repetitions, each the best of its rounds (bench/routing.py)
                runs = f"median of {figures[part].get('repeat', 1)} repetition(s), each the best of its rounds"
            lines.append(f"- {part}: `{rec['command']}` on {rec['date']}, {runs}, load average "
                         f"{rec['load'][0]} -> {rec['load'][1]}.")
    if "compile" in figures:
        lines += ["", *_validate_table(figures["compile"])]
    if "plan" in figures:
        p = figures["plan"]
        lines += ["", f"Plan: the {p['numbers']:,}-number spec ({p['objects']:,} objects) applied to an empty `sipconf up`"
                  f" took {p['first_apply']:.1f} s; `sipconf plan` of it then peaks at {p['plan']['peak_mb']:.0f} MB."]
    if "apply" in figures:
        a = figures["apply"]
        lines += ["", f"Apply: `sipconf apply --auto-approve` of {a['objects']:,} objects ({a['numbers']:,} numbers),"
                  f" default `--parallelism`, to a fresh `sipconf up` each run; sending = first progress line to last."]
    lines += ["", "Profiles of the commands whose figure falls short of its stretch goal: bench/scale_profiles.md;"
              " routing: bench/routing_figures.md.", ""]
    return "\n".join(lines)


def _validate_table(compiled: dict) -> list[str]:
    rows = [
        "| `sipconf validate` | lines | wall | CPU | peak memory |",
        "|---|---:|---:|---:|---:|",
        f"| `sipconf --version` | | {compiled['version']['wall']:.2f} s | {compiled['version']['cpu']:.2f} s "
        f"| {compiled['version']['peak_mb']:.0f} MB |",
        f"| scenarios/demo/spec.yaml | | {compiled['demo']['wall']:.2f} s | {compiled['demo']['cpu']:.2f} s "
        f"| {compiled['demo']['peak_mb']:.0f} MB |",
    ]
    for size, fig in sorted(compiled["validate"].items(), key=lambda kv: int(kv[0])):
        rows.append(f"| {int(size):,} numbers | {fig['lines']:,} | {fig['wall']:.2f} s | {fig['cpu']:.2f} s | {fig['peak_mb']:.0f} MB |")
    return rows
