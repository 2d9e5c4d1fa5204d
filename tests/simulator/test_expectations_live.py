"""What a scenario expects decides what the run waits for and what a failure explains: real
SIPp and the scapy driver against a real `sipconf up`, every result read through the API."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from simulator import embedded
from simulator.runner import RunOptions, Runner, environ_for
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO

ENV = 'env: {DEMO_TWILIO_PASSWORD: demo-twilio-secret, DEMO_TELNYX_PASSWORD: demo-telnyx-secret, DEMO_BOARD_PIN: "9876"}\n'
TELNYX_CALLER = """      source: 127.0.0.31
      auth: {username: acme-telnyx, password: {env: DEMO_TELNYX_PASSWORD}}"""
SUITE = ENV + f"""scenarios:
  - name: no steps, expectations read from the participant
    call: {{from: "+16505550111", to: "+15105550100", source: 127.0.0.11}}
    expect:
      status: 200
      trunk: twilio
      rule: support
      room: {{regex: 'support_\\+16505550111_[A-Za-z0-9]{{12}}'}}
      participant: {{identity: sip_+16505550111, attributes: {{team: support}}}}
  - name: a PIN and nothing after it
    call:
      from: "+14085550014"
      to: "+14155550100"
{TELNYX_CALLER}
    steps:
      - dtmf: "4321#"
    expect: {{status: 200, trunk: telnyx, rule: all-hands, room: all-hands}}
  - name: wrong PIN, expecting where the call went
    call:
      from: "+14085550013"
      to: "+14155550100"
{TELNYX_CALLER}
    steps:
      - wait: answered
      - dtmf: "1111#"
      - wait: ended
    expect: {{status: 200, trunk: telnyx, rule: all-hands, joined: false}}
"""


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("expectations")
    shutil.copy(DEMO / "spec.yaml", folder / "spec.yaml")
    (folder / "calls.yaml").write_text(SUITE, encoding="utf-8")
    return {s.scenario.name: s for s in load_paths([folder / "calls.yaml"])}


@pytest.fixture(scope="module")
def live(suite):
    running = embedded.start()
    try:
        first = next(iter(suite.values()))
        running.apply(first.desired, environ_for(first, {}))
        yield running.target
    finally:
        running.stop()


def run(suite, target, driver: str, *names: str):
    runner = Runner(RunOptions(driver=driver, jobs=2, target=target, environ={}, timeout=8))
    return {o.loaded.scenario.name: o for o in asyncio.run(runner.run([suite[n] for n in names]))}


def test_a_scenario_without_steps_waits_for_the_participant_with_both_drivers(suite, live):
    """The sipp caller used to hang up as soon as it was answered, before the API was read
    (`trunk: expected 'twilio', got nothing`) while scapy passed. Both drivers now play the
    wait the expectations need, and agree on everything read."""
    names = ("no steps, expectations read from the participant", "a PIN and nothing after it")
    seen = {}
    for driver in ("sipp", "scapy"):
        got = run(suite, live, driver, *names)
        assert {n: o.failures for n, o in got.items()} == {n: [] for n in names}, driver
        seen[driver] = {n: (o.result.trunk, o.result.rule, o.result.identity, o.result.joined) for n, o in got.items()}
        # The caller hung up itself, after the participant was read.
        first = got[names[0]].result
        byes = [p for p in first.packets if p.data.startswith(b"BYE ")]
        assert len(byes) == 1 and byes[0].src[0] == "127.0.0.11", driver
    assert seen["sipp"] == seen["scapy"]
    assert seen["sipp"][names[0]] == ("twilio", "support", "sip_+16505550111", True)
    assert seen["sipp"][names[1]][:2] == ("telnyx", "all-hands")


def test_after_a_wrong_pin_the_failure_names_the_trunk_and_rule_the_call_reached(suite, live):
    """No participant joins after a wrong PIN, so the API cannot say where the call went: on
    the wire the expectations get nothing and the failure adds the spec's account (as `sipconf
    explain` gives it). In process, the engine itself reports the trunk and the PIN's rule."""
    name = "wrong PIN, expecting where the call went"
    for driver in ("sipp", "scapy"):
        [outcome] = run(suite, live, driver, name).values()
        assert outcome.failures == [
            "trunk: expected 'telnyx', got nothing",
            "rule: expected 'all-hands', got nothing",
            "no participant was seen through the API, so it names no trunk or rule; by the spec (sipconf explain) the call reached"
            " trunk 'telnyx', rule 'all-hands', then: LiveKit hangs up: Incorrect PIN for SIP room",
        ], driver
        assert (outcome.result.status, outcome.result.joined) == (200, False)
        trace = outcome.result.trace
        assert trace[0] == "by the spec (as sipconf explain shows; not observed):"
        assert "rule all-hands skipped: the entered PIN is not the rule's PIN" in trace
    [inproc] = run(suite, None, "inproc", name).values()
    assert inproc.failures == []
    assert (inproc.result.trunk, inproc.result.rule, inproc.result.joined) == ("telnyx", "all-hands", False)


def test_sipconf_test_accepts_allow_literal_secrets(tmp_path: Path, capsys):
    """A spec and a suite with passwords written as text: refused with the flag named, then
    run with it on the embedded default; the password itself is never printed."""
    from sipconf.cli import main

    password = "literal-telnyx-pw-5c1f"
    spec = (DEMO / "spec.yaml").read_text(encoding="utf-8")
    literal = spec.replace("{env: DEMO_TELNYX_PASSWORD}", f'"{password}"')
    assert literal != spec
    (tmp_path / "spec.yaml").write_text(literal, encoding="utf-8")
    (tmp_path / "calls.yaml").write_text(ENV + f"""scenarios:
  - name: digest with a literal password
    driver: scapy
    call:
      from: "+14085550007"
      to: "+14155550101"
      source: 127.0.0.31
      auth: {{username: acme-telnyx, password: "{password}"}}
    expect: {{status: 200, trunk: telnyx}}
""", encoding="utf-8")
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("LIVEKIT_")}
    try:
        refused = main(["test", str(tmp_path / "calls.yaml")])
        refused_out = capsys.readouterr()
        accepted = main(["test", str(tmp_path / "calls.yaml"), "--allow-literal-secrets"])
        accepted_out = capsys.readouterr()
    finally:
        os.environ.update(saved)
    assert refused == 1
    errors = refused_out.err.splitlines()
    assert all(e.endswith("literal secret: use {env: NAME} or {file: PATH} (or --allow-literal-secrets) [literal-secret]")
               for e in errors)
    # The suite's password, and the spec's inbound and outbound telnyx passwords, each at its line.
    # (The suite file is named relative to the folder it was found in, as in its scenario ids.)
    assert sorted(e.split(": error: ")[0] for e in errors) == [
        f"{tmp_path / 'spec.yaml'}:42:19", f"{tmp_path / 'spec.yaml'}:51:47", "calls.yaml:9:47"]
    assert accepted == 0, accepted_out.out
    assert accepted_out.out.splitlines()[-1] == "1 passed, 0 failed"
    assert password not in refused_out.out + refused_out.err + accepted_out.out + accepted_out.err
