"""The scapy and sipp drivers end to end against a real `sipconf up` (control plane + bridge).

Every result is read back through the livekit-api client, as against a remote LiveKit.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from simulator import embedded
from simulator.reports.pcap import write_pcap
from simulator.runner import RunOptions, Runner, environ_for
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO

SCENARIOS = {s.scenario.name: s for s in load_paths([DEMO])}


@pytest.fixture(scope="module")
def live():
    running = embedded.start()
    try:
        any_scenario = next(iter(SCENARIOS.values()))
        running.apply(any_scenario.desired, environ_for(any_scenario, {}))
        yield running.target
    finally:
        running.stop()


def run(target, driver: str, *names: str):
    runner = Runner(RunOptions(driver=driver, jobs=2, target=target, environ={}, timeout=8))
    return {o.loaded.scenario.name: o for o in asyncio.run(runner.run([SCENARIOS[n] for n in names]))}


def test_scapy_inbound_routing_auth_and_pin(live):
    got = run(live, "scapy", "open individual room", "auth trunk with a wrong password", "right PIN joins the direct room",
              "IP allowlist refuses an address outside it")
    assert {name: o.failures for name, o in got.items()} == {name: [] for name in got}
    routed = got["open individual room"].result
    assert routed.attributes["sip.trunkID"].startswith("ST_") and routed.trunk == "twilio"
    assert routed.attributes["sip.ruleID"].startswith("SDR_") and routed.rule == "support"
    assert got["auth trunk with a wrong password"].result.status == 401
    assert got["right PIN joins the direct room"].result.room == "all-hands"
    # The PIN digits the scapy driver sent (RFC 4733) are in its packets, so in the pcap.
    pin = got["right PIN joins the direct room"].result
    sent_rtp = [p for p in pin.packets if not p.is_sip and p.src[0] == "127.0.0.31"]
    assert sent_rtp and pin.media_note is None


def test_scapy_outbound_dtmf_and_declined_transfer(live):
    got = run(live, "scapy", "outbound DTMF is received by the far end", "transfer declined with NOTIFY 603")
    assert {name: o.failures for name, o in got.items()} == {name: [] for name in got}
    assert got["outbound DTMF is received by the far end"].result.digits == "1234#"
    declined = got["transfer declined with NOTIFY 603"].result
    assert (declined.refer_to, declined.notify, declined.transfer_error) == ("tel:+16505550498", 603, 603)


def test_sipp_inbound_and_outbound(live):
    got = run(live, "sipp", "X-header mapped to a participant attribute", "number no trunk serves",
              "attributes_to_headers reach the far end", "transfer to a SIP URI")
    assert {name: o.failures for name, o in got.items()} == {name: [] for name in got}
    assert got["number no trunk serves"].result.reason == "No trunk found"
    invite = got["attributes_to_headers reach the far end"].result.invite
    assert invite["headers"]["X-Customer-Tier"] == "platinum"
    # SIPp's message trace became the ladder: the INVITE went out from the scenario's source.
    first = got["X-header mapped to a participant attribute"].result.packets[0]
    assert first.src[0] == "127.0.0.11" and first.data.startswith(b"INVITE sip:+15105550100@")
    # SIPp's own RTP is not recorded: its ladder says the pcap holds signalling only.
    assert got["X-header mapped to a participant attribute"].result.media_note.startswith(
        "This driver's pcap holds signalling only")


def test_a_real_call_pcap_reads_back_with_tshark(live, tmp_path: Path):
    outcome = run(live, "scapy", "callee rule names the room after the called number")["callee rule names the room after the called number"]
    path = write_pcap(tmp_path / "call.pcap", outcome.result.packets)
    lines = subprocess.run(["tshark", "-r", str(path), "-Y", "sip", "-T", "fields", "-e", "sip.CSeq.method",
                            "-e", "sip.Status-Code"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines[0] == "INVITE\t"
    assert "INVITE\t200" in lines and "ACK\t" in lines and "BYE\t200" in lines


def test_broken_spec_fails_the_suite_end_to_end(tmp_path: Path, capsys):
    """The embedded default (no --url): `sipconf test` starts `sipconf up`, applies the
    broken copy of the spec, and reports expected versus got with the SIP ladder."""
    from sipconf.cli import main

    spec = (DEMO / "spec.yaml").read_text(encoding="utf-8").replace("callee: {room_prefix: sales, randomize: false}",
                                                                     "callee: {room_prefix: sales-line, randomize: false}")
    (tmp_path / "spec.yaml").write_text(spec, encoding="utf-8")
    (tmp_path / "routing.yaml").write_text((DEMO / "inbound" / "routing.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("LIVEKIT_")}
    try:
        code = main(["test", str(tmp_path / "routing.yaml"), "--driver", "scapy", "-k", "callee"])
    finally:
        os.environ.update(env)
    out = capsys.readouterr().out.splitlines()
    assert code == 1 and out[-1] == "0 passed, 1 failed"
    assert "  room: expected 'sales_+15105550101', got 'sales-line_+15105550101'" in out
    ladder = out.index("  SIP ladder:")
    assert out[ladder + 1].endswith("  INVITE") and "127.0.0.11:" in out[ladder + 1]


def test_load_mode_reports_rate_setup_times_and_failures(live):
    from simulator.loadtest import drive

    report = drive(SCENARIOS["open individual room"], live.sip, cps=10, duration=1,
                   environ=environ_for(SCENARIOS["open individual room"], {}))
    assert (report.calls, report.succeeded, report.failed) == (10, 10, 0)
    assert len(report.setup_ms) == 10
    assert report.lines()[0].startswith("load: scenarios/demo/inbound/routing.yaml::open individual room (expects 200), SIPp v3.6")
    assert report.lines()[1] == "target 10 calls/s for 1s: 10 calls, 10 succeeded, 0 failed"


def test_scapy_sends_malformed_invites(live, suite_dir: Path):
    (suite_dir / "malformed.yaml").write_text((Path(__file__).parent / "data" / "malformed.yaml.in").read_text(encoding="utf-8"),
                                              encoding="utf-8")
    scenarios = load_paths([suite_dir / "malformed.yaml"])
    runner = Runner(RunOptions(target=live, environ={}, timeout=8))
    got = asyncio.run(runner.run(scenarios))
    assert [(o.loaded.scenario.name, o.failures) for o in got] == [(s.scenario.name, []) for s in scenarios]
    sipp = Runner(RunOptions(driver="sipp", target=live, environ={})).run([scenarios[0]])
    [refused] = asyncio.run(sipp)
    assert (refused.status, refused.skipped) == ("skipped", "malformed messages are built by the scapy driver only")


def test_every_routing_scenario_passes_with_scapy_and_inproc(live):
    """Routing scenarios (inbound and PIN) pass with the scapy and in-process drivers too."""
    from simulator.drivers import DRIVERS

    routing = [n for n, s in SCENARIOS.items() if DRIVERS["inproc"].cannot_run(s) is None]
    assert len(routing) >= 10
    for driver in ("scapy", "inproc"):
        got = run(live, driver, *routing)
        assert {name: o.failures for name, o in got.items()} == {name: [] for name in got}, driver


def test_every_demo_scenario_passes_with_the_sipp_driver(live):
    """Every demo scenario passes with the sipp driver -- in parallel (-j 2), the far ends
    serialised per trunk address. A declined transfer leaves the call up
    (docs/livekit.md#refer-flow); the driver ends it through the API, so no far end waits for a
    BYE on SIPp's clock."""
    got = run(live, "sipp", *SCENARIOS)
    assert {name: o.failures for name, o in got.items()} == {name: [] for name in SCENARIOS}
    declined = got["transfer declined with NOTIFY 603"].result
    assert (declined.notify, declined.transfer_error) == (603, 603)
    # The teardown's BYE reached the far end (it is in SIPp's trace) and was answered.
    byes = [p for p in declined.packets if p.data.startswith(b"BYE ")]
    assert len(byes) == 1 and byes[0].dst == ("127.0.0.21", 5070)


def test_tcp_inbound_and_the_telnyx_tcp_trunk_with_both_drivers(live):
    """`transport: tcp`: SIPp with -t t1 (caller, and far end listening on TCP), the scapy
    driver with asyncio TCP for SIP; every message of these calls went over TCP."""
    names = [n for n, s in SCENARIOS.items() if "tcp" in s.scenario.tags]
    assert len(names) == 4
    for driver in ("sipp", "scapy"):
        got = run(live, driver, *names)
        assert {name: o.failures for name, o in got.items()} == {name: [] for name in names}, driver
        for name, o in got.items():
            sip = [p for p in o.result.packets if p.is_sip]
            assert sip and {p.transport for p in sip} == {"tcp"}, (driver, name)
        invite = got["outbound call over the telnyx TCP trunk answers the digest challenge"].result.invite
        assert invite["headers"]["Via"].startswith("SIP/2.0/TCP ")
