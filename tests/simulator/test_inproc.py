"""The in-process driver on the demo suite, and a deliberately broken spec."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sipconf.cli import main
from simulator.runner import RunOptions, Runner
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO

ENV = {"DEMO_TWILIO_PASSWORD": "demo-twilio-secret", "DEMO_TELNYX_PASSWORD": "demo-telnyx-secret", "DEMO_BOARD_PIN": "9876"}


def run_inproc(paths):
    runner = Runner(RunOptions(driver="inproc", environ={}))
    return asyncio.run(runner.run(load_paths(paths)))


def test_every_routing_scenario_of_the_demo_passes_in_process():
    outcomes = run_inproc([DEMO / "inbound", DEMO / "dtmf" / "pin.yaml"])
    assert len(outcomes) >= 13
    assert [(o.loaded.id, o.failures) for o in outcomes if not o.passed] == []


def test_a_scenario_the_driver_cannot_run_is_skipped_with_the_reason():
    [outcome] = [o for o in run_inproc([DEMO / "outbound"]) if o.loaded.scenario.name == "busy far end fails the call with 486"]
    assert (outcome.status, outcome.failures, outcome.passed, outcome.failed, outcome.ran) == ("skipped", [], False, False, False)
    assert outcome.skipped == "the inproc driver routes inbound calls only; an outbound call needs a far end (use sipp or scapy)"


def test_skipped_scenarios_are_counted_and_listed_with_the_reason_and_exit_0(capsys):
    """The demo's REFER suite (outbound calls) under the inproc driver: every scenario is
    skipped, none failed."""
    code = main(["test", str(DEMO / "refer"), "--driver", "inproc"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    reason = "the inproc driver routes inbound calls only; an outbound call needs a far end (use sipp or scapy)"
    assert f"[1/3] scenarios/demo/refer/transfer.yaml::transfer to a tel URI (inproc) SKIPPED: {reason}" in out
    assert f"SKIPPED scenarios/demo/refer/transfer.yaml::transfer to a tel URI (inproc) - {reason}" in out
    assert "FAILURES" not in " ".join(out)
    assert out[-1] == "0 passed, 0 failed, 3 skipped"


def test_the_room_and_participant_come_from_the_rule():
    [outcome] = [o for o in run_inproc([DEMO / "inbound" / "routing.yaml"]) if o.loaded.scenario.name == "open individual room"]
    got = outcome.result
    assert (got.status, got.trunk, got.rule, got.identity) == (200, "twilio", "support", "sip_+16505550111")
    assert got.room.startswith("support_+16505550111_")


def test_a_broken_copy_of_the_spec_fails_with_expected_versus_got(tmp_path: Path, capsys):
    """The support rule's room prefix and team attribute changed: the suite must say so."""
    spec = (DEMO / "spec.yaml").read_text(encoding="utf-8")
    broken = spec.replace("individual: {room_prefix: support}", "individual: {room_prefix: helpdesk}")
    broken = broken.replace("attributes: {team: support}", "attributes: {team: helpdesk}")
    assert broken != spec
    (tmp_path / "spec.yaml").write_text(broken, encoding="utf-8")
    shutil.copy(DEMO / "inbound" / "routing.yaml", tmp_path / "routing.yaml")
    code = main(["test", str(tmp_path), "--driver", "inproc", "-k", "individual"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[-1] == "0 passed, 1 failed"
    failure = out.index("___ routing.yaml::open individual room (inproc) ___")  # relative to the suite folder
    lines = out[failure + 2:failure + 4]
    assert lines[0].startswith("  room: expected /support_\\+16505550111_[A-Za-z0-9]{12}/, got 'helpdesk_+16505550111_")
    assert lines[1] == "  participant.attributes[team]: expected 'support', got 'helpdesk'"
    assert "  routing trace:" in out


def test_sipconf_test_summary_ends_with_the_counts(capsys):
    code = main(["test", str(DEMO / "inbound"), "--driver", "inproc"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-1] == f"{len(load_paths([DEMO / 'inbound']))} passed, 0 failed"


def test_min_coverage_fails_the_run_below_the_threshold(capsys):
    code = main(["test", str(DEMO / "inbound" / "headers.yaml"), "--driver", "inproc", "--min-coverage", "50"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[-1] == "1 passed, 0 failed; coverage 18.8% < 50% (--min-coverage)"
    assert out[-2].startswith("  ")  # the coverage lines come before the verdict
