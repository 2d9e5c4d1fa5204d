"""Load mode against a bridge that turns calls away: a call succeeds only with its expected
final status, and `sipconf test --load` fails when any call did not get it."""

from __future__ import annotations

import io

import pytest

from sipconf.livekit.target import TargetFlags
from simulator import embedded
from simulator.cli import TestArgs as Args, run_tests
from simulator.loadtest import drive, parse_counts, parse_rtt
from simulator.runner import environ_for
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO

OPEN = next(s for s in load_paths([DEMO]) if s.scenario.name == "open individual room")


@pytest.fixture(scope="module")
def one_call_bridge():
    """A real `sipconf up` that takes one call at a time and rings for a while, so calls
    overlap and the bridge answers the others with 503."""
    running = embedded.start(extra=["--max-calls", "1", "--ring-delay", "0.3"])
    try:
        running.apply(OPEN.desired, environ_for(OPEN, {}))
        yield running.target
    finally:
        running.stop()


def test_rejected_calls_are_failures_by_status(one_call_bridge):
    report = drive(OPEN, one_call_bridge.sip, cps=10, duration=1, environ=environ_for(OPEN, {}))
    assert report.calls == 10
    assert report.failed > 0 and report.statuses.get(503, 0) > 0
    assert report.succeeded == report.statuses.get(200, 0) > 0
    assert report.succeeded + report.failed == report.calls == sum(report.statuses.values())
    assert len(report.setup_ms) == report.succeeded and len(report.failed_ms) == report.statuses[503]
    lines = report.lines()
    assert lines[0].startswith(f"load: {OPEN.id} (expects 200), SIPp v3.6")
    assert lines[1] == f"target 10 calls/s for 1s: 10 calls, {report.succeeded} succeeded, {report.failed} failed"
    assert lines[2] == f"final status: {report.succeeded}x 200, {report.statuses[503]}x 503"


def test_load_command_exits_1_when_calls_were_turned_away(one_call_bridge):
    out = io.StringIO()
    flags = TargetFlags(url=one_call_bridge.url, api_key=one_call_bridge.api_key, api_secret=one_call_bridge.api_secret,
                        sip=f"{one_call_bridge.sip[0]}:{one_call_bridge.sip[1]}")
    code = run_tests(Args(paths=[str(DEMO)], keyword="open and individual", load=10, duration=1, target=flags), out)
    text = out.getvalue().splitlines()
    assert code == 1
    assert text[0].startswith(f"load: {OPEN.id} (expects 200)")
    assert "x 503" in text[2]
    assert text[-1].endswith("failed") and not text[-1].endswith(" 0 failed")
    # The bridge counted the same calls, and every 503 as shed by admission control.
    shed = int(text[2].split("x 503")[0].rsplit(" ", 1)[-1])
    answered = int(text[2].split("x 200")[0].rsplit(" ", 1)[-1])
    assert (f"bridge (/metrics): 10 INVITEs answered: {answered}x 200, {shed}x 503; {shed} shed, "
            "0 digest challenges, 0 auth failures") in text
    assert f"client and bridge agree: 10 INVITEs, {answered}x 200, {shed}x 503" in text


def test_counts_and_rtt_parsing():
    counts = ("CurrentTime;ElapsedTime;0_INVITE_Sent;1_100_Recv;18_503_Recv;20_200_Recv;21_ACK_Sent;23_200_Recv\n"
              "x;y;10;3;7;3;3;3\n")
    assert parse_counts(counts) == {503: 7, 200: 3}
    # With digest auth: the first INVITE's finals, the retry's, then the BYE's 200.
    counts = ("CurrentTime;ElapsedTime;0_INVITE_Sent;5_407_Recv;9_200_Recv;12_INVITE_Sent;17_200_Recv;"
              "21_ACK_Sent;23_200_Recv\n" "x;y;10;10;0;10;9;9;9\n")
    assert parse_counts(counts) == {407: 10, 200: 9}
    rtt = "Date_ms;response_time_ms;rtd_no\n1;304;1\n2;0;2\n3;305;1\n"
    assert parse_rtt(rtt, "1") == [304.0, 305.0] and parse_rtt(rtt, "2") == [0.0]
