"""The scale benchmark (bench/scale.py, `python -m bench --only ...`): its parts run for real
at a small size against `sipconf up`, figures land in their files, and RESULTS.md keeps the
sections it does not own. Nothing here asserts on a time: only that each figure is there."""

from __future__ import annotations

import json

import pytest

from bench import __main__ as bench_main
from bench import scale, scale_report
from bench.measure import CommandFailed, run_once
from bench.plane import SIPCONF
from bench.results import remove_section, with_section


def test_only_expands_groups_and_keeps_the_running_order():
    assert bench_main.parts_of("scale") == ["compile", "plan", "apply", "routing"]
    assert bench_main.parts_of("bridge, apply") == ["apply", "bridge"]
    with pytest.raises(ValueError) as info:
        bench_main.parts_of("apply,speed")
    assert str(info.value) == "unknown part 'speed'; the parts are scale, compile, plan, apply, routing, bridge"


def test_a_command_is_charged_for_its_own_memory_not_for_the_benchmark_that_runs_it():
    ballast = bytearray(300_000_000)  # a benchmark holding a big spec in memory
    run = run_once([SIPCONF, "--version"])
    assert run.output.startswith("sipconf ") and run.peak_mb < 100
    assert len(ballast) == 300_000_000


def test_a_failing_command_is_an_error_with_its_last_lines():
    with pytest.raises(CommandFailed) as info:
        run_once([SIPCONF, "validate", "no-such-spec.yaml"])
    assert str(info.value).startswith(f"{SIPCONF} validate no-such-spec.yaml exited 1:\n")


def test_a_section_is_replaced_up_to_the_next_heading_and_the_rest_is_kept():
    text = "# Scale\nold\n## Scale: why\nmine\n# Bridge benchmark\nrates\n## Soak\nsoak\n"
    assert with_section(text, "# Scale", "# Scale\nnew\n") == (
        "# Scale\nnew\n\n## Scale: why\nmine\n# Bridge benchmark\nrates\n## Soak\nsoak\n"
    )
    assert with_section(text, "# Bridge benchmark", "# Bridge benchmark\nfaster") == (
        "# Scale\nold\n## Scale: why\nmine\n# Bridge benchmark\nfaster\n\n## Soak\nsoak\n"
    )
    assert with_section("# Bridge benchmark\nrates\n", "# Scale", "# Scale\nnew", before="# Bridge benchmark") == (
        "# Scale\nnew\n\n# Bridge benchmark\nrates\n"
    )
    assert with_section("# Bridge benchmark\nrates\n", "# Scale", "# Scale\nnew") == "# Bridge benchmark\nrates\n\n# Scale\nnew\n"


def test_a_section_is_removed_with_its_body_only(tmp_path):
    path = tmp_path / "profiles.md"
    path.write_text("# Profiles\n\n## plan\nslow\n## apply\nslower\n")
    remove_section(path, "## plan")
    assert path.read_text() == "# Profiles\n\n## apply\nslower\n"
    remove_section(path, "## missing")
    assert path.read_text() == "# Profiles\n\n## apply\nslower\n"


FIGURES = {
    "compile": {
        "version": {"wall": 0.1, "cpu": 0.05, "peak_mb": 18.0, "runs": 5},
        "demo": {"wall": 0.4, "cpu": 0.29, "peak_mb": 41.0, "runs": 5},
        "validate": {
            "1000": {"wall": 0.5, "cpu": 0.4, "peak_mb": 46.0, "runs": 5, "lines": 1304},
            "10000": {"wall": 1.2, "cpu": 0.9, "peak_mb": 85.0, "runs": 5, "lines": 13004},
            "100000": {"wall": 31.0, "cpu": 9.0, "peak_mb": 499.0, "runs": 3, "lines": 130004},
        },
        "recorded": {"command": "python -m bench --only compile", "date": "2026-12-05", "runs": 5, "load": [0.5, 0.7]},
    },
}


def test_each_figure_is_beside_its_goals_with_a_verdict_on_wall_and_cpu_time():
    text = scale_report.render(FIGURES)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| `") or line.startswith("| time")}
    assert rows["`sipconf validate`, 10k numbers / 1k trunks / 2k rules"] == (
        "| `sipconf validate`, 10k numbers / 1k trunks / 2k rules | < 3 s, < 200 MB | < 1 s | 1.20 s (0.90 s CPU), 85 MB"
        " | must met, stretch not; in CPU time: must and stretch met |"
    )
    assert rows["`sipconf validate`, 100k numbers"].endswith(
        "| 31.00 s (9.00 s CPU), 499 MB | **must not met**; in CPU time: must and stretch met |"
    )
    assert rows["time(10k) ÷ time(1k)"] == "| time(10k) ÷ time(1k) | ≤ 12 (linear) | ≤ 11 | 2.4 (2.2 in CPU time) | must and stretch met |"
    assert "| `apply` of 1,000 objects to the embedded plane | < 20 s | < 10 s | not measured yet | |" in text
    assert "- compile: `python -m bench --only compile` on 2026-12-05, median of 5 run(s), load average 0.5 -> 0.7." in text


@pytest.fixture
def small(monkeypatch, tmp_path):
    """The parts at a size a test can afford, their figures and profiles in tmp_path."""
    monkeypatch.setattr(scale, "SIZES", (100,))
    monkeypatch.setattr(scale, "PLAN_NUMBERS", 100)
    monkeypatch.setattr(scale, "APPLY_OBJECTS", 30)
    monkeypatch.setattr(scale, "PROFILES", tmp_path / "profiles.md")
    return tmp_path


def test_compile_plan_and_apply_run_against_sipconf_up_and_keep_the_other_figures(small):
    path = small / "figures.json"
    path.write_text(json.dumps({"routing": {"rows": []}}))
    figures = scale.run(["compile", "plan", "apply"], runs=1, say=lambda line: None, path=path, profiles=False)
    assert json.loads(path.read_text()) == figures
    assert figures["routing"] == {"rows": []}  # a part not run keeps its last figures
    assert set(figures["compile"]) == {"version", "demo", "validate", "recorded"}
    assert figures["compile"]["validate"]["100"]["lines"] == 134
    assert (figures["plan"]["numbers"], figures["plan"]["objects"], figures["plan"]["plan"]["runs"]) == (100, 30, 1)
    assert (figures["apply"]["objects"], figures["apply"]["numbers"]) == (30, 100)
    assert figures["apply"]["sending"] <= figures["apply"]["apply"]["wall"]
    assert figures["apply"]["recorded"]["command"] == "python -m bench --only apply"


def test_a_figure_short_of_its_stretch_goal_gets_the_profiles_of_its_commands(small):
    short = {"apply": {"apply": {"wall": 12.0}, "sending": 9.0}}
    scale.record_profiles(small, short, "apply", say=lambda line: None)
    text = scale.PROFILES.read_text()
    assert text.startswith("# Profiles of the scale figures short of their stretch goal\n")
    assert "## `apply` of 1,000 objects to the embedded plane\n\nShort of its stretch goal (< 10 s): 12.0 s" in text
    client, server = text.split("`sipconf up` during that apply (the embedded plane, whole process):")
    assert "`sipconf apply` of 30 objects (the client):" in client
    assert "sipconf/commands/apply.py" in client and "sipconf/commands/up.py" in server  # each process's own profile
    met = {"apply": {"apply": {"wall": 5.0}, "sending": 3.0}}
    scale.record_profiles(small, met, "apply", say=lambda line: None)
    assert "## `apply`" not in scale.PROFILES.read_text()
