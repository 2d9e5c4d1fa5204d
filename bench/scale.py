"""The scale figures: `sipconf` on specs from 100 to 100,000 numbers, each beside its goal.

    python -m bench --only scale            # all four parts below
    python -m bench --only compile,apply    # some of them

Specs come from `python -m bench.gen_spec N` (N/10 inbound trunks of 10 numbers, each with an
address allowlist and a header mapping, and two dispatch rules per trunk: an individual rule
on half its numbers, a callee rule on the other half). Every figure is a whole command, run
several times after a warm-up run, and the median is quoted (bench/measure.py):

- compile: `sipconf --version`; `sipconf validate` of the demo spec and of 100, 1k, 10k and
  100k numbers (time and peak memory), and time(10k) / time(1k);
- plan: the 10k spec applied to `sipconf up` (3,000 objects), then `sipconf plan` of it
  against that live project, which already holds it;
- apply: `sipconf apply --auto-approve` of 1,000 objects (334 trunks, 668 rules) to a fresh
  `sipconf up` each run, and the part of it spent sending the changes;
- routing: `python -m bench.routing` (decisions per second of the routing index by size).

Figures are kept in bench/scale_figures.json, so a run of some parts keeps the others' last
figures; bench/RESULTS.md's "Scale" section is written from it (bench/scale_report.py), and
bench/scale_profiles.md holds a cProfile of each command whose figure falls short of its
stretch goal.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import pstats
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Callable

from bench import gen_spec, scale_report
from bench.measure import Figures, measure, run_once
from bench.plane import SIPCONF, clean_environment, embedded_up
from bench.results import remove_section, replace_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES = HERE / "scale_figures.json"
DEMO_SPEC = "scenarios/demo/spec.yaml"
SIZES = (100, 1_000, 10_000, 100_000)
PLAN_NUMBERS = 10_000
APPLY_OBJECTS = 1_000
PARTS = ("compile", "plan", "apply", "routing")
LARGEST_RUNS = 3  # runs of the 100k validate: 20 s each


def spec_file(tmp: Path, numbers: int) -> Path:
    path = tmp / f"spec-{numbers}.yaml"
    if not path.exists():
        path.write_text(gen_spec.spec_text(numbers))
    return path


def numbers_for(objects: int) -> int:
    """gen_spec numbers that make at least `objects` objects (a trunk and its 2 rules per 10)."""
    return math.ceil(objects / 3) * gen_spec.NUMBERS_PER_TRUNK


def compile_part(tmp: Path, runs: int, say: Callable[[str], None]) -> dict:
    env = clean_environment()
    # Bytecode as an installed package has it (this machine may set PYTHONDONTWRITEBYTECODE).
    subprocess.run([sys.executable, "-m", "compileall", "-q", "sipconf"], cwd=ROOT, check=True)
    out: dict = {"version": measure([SIPCONF, "--version"], runs, env).to_json()}
    out["demo"] = measure([SIPCONF, "validate", DEMO_SPEC], runs, env).to_json()
    say(f"--version {out['version']['wall']:.2f} s, demo validate {out['demo']['wall']:.2f} s")
    out["validate"] = {}
    for numbers in SIZES:
        path = spec_file(tmp, numbers)
        count = min(runs, LARGEST_RUNS) if numbers >= 100_000 else runs
        figures = measure([SIPCONF, "validate", str(path)], count, env)
        lines = path.read_text().count("\n")
        out["validate"][str(numbers)] = figures.to_json() | {"lines": lines}
        say(f"validate {numbers:,} numbers: {figures.wall:.2f} s ({figures.cpu:.2f} s CPU), {figures.peak_mb:.0f} MB")
    return out


def plan_part(tmp: Path, runs: int, say: Callable[[str], None]) -> dict:
    spec = spec_file(tmp, PLAN_NUMBERS)
    with embedded_up(tmp / "plan-plane") as (env, _port):
        first = run_once([SIPCONF, "apply", str(spec), "--auto-approve"], env)
        say(f"apply of the {PLAN_NUMBERS:,}-number spec to an empty project: {first.wall:.1f} s")
        argv = [SIPCONF, "plan", str(spec)]
        last = run_once(argv, env)
        if "No changes." not in last.output:
            raise RuntimeError(f"the plan of an applied spec is not empty:\n{last.output[-2000:]}")
        figures = measure(argv, runs, env, warmup=0)
    say(f"plan of the {PLAN_NUMBERS:,}-number spec against the live project: {figures.wall:.2f} s")
    return {"numbers": PLAN_NUMBERS, "objects": _objects(PLAN_NUMBERS), "first_apply": round(first.wall, 2),
            "plan": figures.to_json()}


def apply_part(tmp: Path, runs: int, say: Callable[[str], None]) -> dict:
    numbers = numbers_for(APPLY_OBJECTS)
    spec = spec_file(tmp, numbers)
    results, sending = [], []
    for attempt in range(runs):
        with embedded_up(tmp / f"apply-plane-{attempt}") as (env, _port):
            run = run_once([SIPCONF, "apply", str(spec), "--auto-approve"], env, mark="[")
        if "Read back: the live project matches the spec." not in run.output:
            raise RuntimeError(f"the apply did not converge:\n{run.output[-2000:]}")
        results.append(run)
        sending.append(run.marks[-1] - run.marks[0] if run.marks else 0.0)
        say(f"apply of {_objects(numbers):,} objects: {run.wall:.1f} s, {sending[-1]:.1f} s sending")
    figures = Figures.of(results)
    return {"objects": _objects(numbers), "numbers": numbers, "apply": figures.to_json(),
            "sending": round(sorted(sending)[len(sending) // 2], 2)}


def routing_part(tmp: Path, runs: int, say: Callable[[str], None]) -> dict:
    out = tmp / "routing.json"
    subprocess.run([sys.executable, "-m", "bench.routing", "--json", str(out)], cwd=ROOT, check=True)
    found = json.loads(out.read_text())
    say("routing: " + ", ".join(f"{row['numbers']:,} numbers {row['index']:,.0f}/s" for row in found["rows"]))
    return found


def _objects(numbers: int) -> int:
    return numbers // gen_spec.NUMBERS_PER_TRUNK * 3


RUNNERS = {"compile": compile_part, "plan": plan_part, "apply": apply_part, "routing": routing_part}
COMMANDS = {  # how to run each part by itself, as RESULTS.md quotes it
    "compile": "python -m bench --only compile",
    "plan": "python -m bench --only plan",
    "apply": "python -m bench --only apply",
    "routing": "python -m bench.routing",
}


def run(
    parts: list[str], runs: int, say: Callable[[str], None] = print, path: Path = FIGURES, profiles: bool = True
) -> dict:
    """Measure `parts`, merge them into the figures file (and profile what misses its stretch
    goal, when `profiles`), and return all the figures."""
    figures = json.loads(path.read_text()) if path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="sipconf-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for part in parts:
            load = os.getloadavg()[0]
            found = RUNNERS[part](tmp, runs, say)
            found["recorded"] = {
                "date": datetime.date.today().isoformat(), "runs": runs, "command": COMMANDS[part],
                "load": [round(load, 1), round(os.getloadavg()[0], 1)],
            }
            figures[part] = found
            path.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
            if profiles:
                record_profiles(tmp, figures, part, say)
    return figures


# -- profiles of the figures that fall short of their stretch goal ----------------------------

PROFILES = HERE / "scale_profiles.md"
PROFILE_ROWS = 30
PROFILES_HEADER = """# Profiles of the scale figures short of their stretch goal

Written by `python -m bench --only scale` (bench/scale.py) next to the figures in bench/RESULTS.md:
one cProfile run of each command whose figure misses its stretch goal. cProfile slows Python code
down, so read where the time goes, not how long it took.
"""


def profile_text(stats_file: Path, rows: int = PROFILE_ROWS) -> str:
    """The top of a cProfile by cumulative time, with this checkout's paths and the
    interpreter's start-up frames left out."""
    out = io.StringIO()
    pstats.Stats(str(stats_file), stream=out).sort_stats("cumulative").print_stats(rows * 2)
    text = out.getvalue()
    for prefix in (sysconfig.get_paths()["purelib"] + "/", sysconfig.get_paths()["stdlib"] + "/", f"{ROOT}/"):
        text = text.replace(prefix, "")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    body = [line for line in lines[start + 1:] if line.strip() and not any(skip in line for skip in _START_UP)]
    return "\n".join([total, "", lines[start], *body[:rows]])


_START_UP = ("<frozen ", "<string>:", "builtins.exec}", "importlib/__init__.py", "sipconf/__main__.py")


def _profiled(args: list[str], stats: Path, env: dict[str, str]) -> list[str]:
    return [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "sipconf", *args]


def profile_validate(tmp: Path, numbers: int | None) -> list[tuple[str, str]]:
    target = DEMO_SPEC if numbers is None else str(spec_file(tmp, numbers))
    stats = tmp / "validate.prof"
    env = clean_environment()
    run_once(_profiled(["validate", target], stats, env), env)
    return [(f"`sipconf validate {Path(target).name}`", profile_text(stats))]


def profile_plan(tmp: Path) -> list[tuple[str, str]]:
    spec = spec_file(tmp, PLAN_NUMBERS)
    stats = tmp / "plan.prof"
    with embedded_up(tmp / "plan-profile-plane") as (env, _port):
        run_once([SIPCONF, "apply", str(spec), "--auto-approve"], env)
        run_once(_profiled(["plan", str(spec)], stats, env), env)
    return [(f"`sipconf plan` of the {PLAN_NUMBERS:,}-number spec against the live project", profile_text(stats))]


def profile_apply(tmp: Path) -> list[tuple[str, str]]:
    spec = spec_file(tmp, numbers_for(APPLY_OBJECTS))
    client, server = tmp / "apply.prof", tmp / "up.prof"
    with embedded_up(tmp / "apply-profile-plane", profile=server) as (env, _port):
        run_once(_profiled(["apply", str(spec), "--auto-approve"], client, env), env)
    return [
        (f"`sipconf apply` of {APPLY_OBJECTS:,} objects (the client)", profile_text(client)),
        ("`sipconf up` during that apply (the embedded plane, whole process)", profile_text(server)),
    ]


PROFILERS: dict[str, Callable[[Path], list[tuple[str, str]]]] = {
    "validate-10000": lambda tmp: profile_validate(tmp, 10_000),
    "validate-100000": lambda tmp: profile_validate(tmp, 100_000),
    "demo": lambda tmp: profile_validate(tmp, None),
    "plan": profile_plan,
    "apply": profile_apply,
}


def record_profiles(tmp: Path, figures: dict, part: str, say: Callable[[str], None]) -> None:
    """Profile each command of `part` whose figure misses its stretch goal; drop the profile of
    one that now meets it."""
    if not PROFILES.exists():
        PROFILES.write_text(PROFILES_HEADER)
    for goal in (g for g in scale_report.GOALS if g.part == part and g.profile):
        title = f"## {goal.figure}"
        if goal.meets(figures, "wall")[1]:
            remove_section(PROFILES, title)
            continue
        say(f"profiling: {goal.figure}")
        body = [title, "", f"Short of its stretch goal ({goal.stretch}): {goal.measured(figures)}."
                f" cProfile of one run, {datetime.date.today().isoformat()}, by cumulative time.", ""]
        for heading, text in PROFILERS[goal.profile](tmp):
            body += [heading + ":", "", "```", text, "```", ""]
        replace_section(PROFILES, title, "\n".join(body))
