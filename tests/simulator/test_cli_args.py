"""`sipconf test` arguments and what counts toward coverage."""

from __future__ import annotations

import asyncio

import pytest

from sipconf.cli import main
from sipconf.spec import load as load_spec
from simulator.reports.coverage import coverage
from simulator.runner import RunOptions, Runner
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO


@pytest.mark.parametrize("value", ["abc", "150", "-1", "nan", "101%"])
def test_min_coverage_outside_0_to_100_is_one_line_and_exit_1(value, capsys):
    assert main(["test", str(DEMO / "inbound"), f"--min-coverage={value}"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"sipconf test: argument --min-coverage: expected a percentage from 0 to 100, got '{value}'"
        " (see `sipconf test --help`)"]
    assert captured.out == ""


def test_min_coverage_takes_a_number_or_a_percentage():
    from sipconf.commands.test import percent

    assert percent("0") == 0.0 and percent("100") == 100.0 and percent("87.5%") == 87.5


def test_scenarios_that_cannot_run_touch_nothing_but_failed_ones_do(suite_dir):
    """In process, the outbound calls cannot run (skipped): twilio outbound stays untouched. An inbound
    call that ran and failed its assertion still touched its trunk, rule and number."""
    (suite_dir / "calls.yaml").write_text("""env: {DEMO_TWILIO_PASSWORD: t, DEMO_TELNYX_PASSWORD: t, DEMO_BOARD_PIN: "9876"}
scenarios:
  - name: outbound through twilio
    call: {direction: outbound, trunk: twilio, from: "+15105550100", to: "+16505550111", room: r}
  - name: support, wrongly expected
    call: {from: "+16505550111", to: "+15105550100", source: 127.0.0.11}
    expect: {status: 486}
""", encoding="utf-8")
    got = asyncio.run(Runner(RunOptions(driver="inproc", environ={})).run(load_paths([suite_dir / "calls.yaml"])))
    assert [(o.status, o.ran) for o in got] == [("skipped", False), ("failed", True)]
    assert got[0].skipped.startswith("the inproc driver routes inbound calls only")
    assert got[1].failures == ["status: expected 486, got 200"]
    cov = coverage([load_spec(suite_dir / "spec.yaml")], got)
    assert cov.untouched["outbound trunks"] == ["telnyx", "twilio"]
    assert "+15105550100 (twilio outbound)" in cov.untouched["number entries"]
    assert cov.untouched["inbound trunks"] == ["telnyx"]
    assert "support" not in cov.untouched["dispatch rules"]


def test_coverage_below_the_floor_is_never_shown_rounded_up_to_it():
    from simulator.cli import below_threshold

    assert below_threshold(62.5, 100) == "62.5"
    assert below_threshold(18.75, 50) == "18.8"  # as the coverage line shows it
    assert below_threshold(99.96, 100) == "99.9"
