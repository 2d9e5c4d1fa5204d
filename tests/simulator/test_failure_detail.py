"""A failure always shows expected-versus-got, the SIP ladder (or that none was captured) and
what SIPp itself said: exit code, its meaning, its error lines -- never a bare "got nothing"."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree
from pathlib import Path

from simulator.assertions import check
from simulator.ports import free_port
from simulator.reports.junit import junit_xml
from simulator.reports.summary import failure_block
from simulator.result import CallResult
from simulator.runner import Outcome
from simulator.scenario import load_paths
from simulator.sipprun import SippRun, run_sipp

from tests.simulator.conftest import DEMO

ROUTING = {s.scenario.name: s for s in load_paths([DEMO / "inbound" / "routing.yaml"])}

STDERR = (
    "Resolving remote host '127.0.0.1'... Done.\n"
    "2026-11-25\t14:19:07.472625\t1795616347.472625: Aborting call on unexpected message for Call-Id 'c1': "
    "while expecting '200' (index 16), received 'SIP/2.0 500 Server Error'\n"
    "The following events occurred:\n"
    "2026-11-25\t14:19:07.472625\t1795616347.472625: Aborting call on unexpected message for Call-Id 'c1': "
    "while expecting '200' (index 16), received 'SIP/2.0 500 Server Error'\n"
)


def test_sipp_report_names_the_exit_code_and_its_own_error_lines_once():
    run = SippRun(1, "", STDERR, ("127.0.0.11", 5062))
    assert run.report("caller") == [
        "sipp caller: exit 1 (at least one call failed)",
        "  Aborting call on unexpected message for Call-Id 'c1': while expecting '200' (index 16),"
        " received 'SIP/2.0 500 Server Error'",
        "  its message trace (-trace_msg) is empty: it sent and received no SIP message",
    ]
    assert SippRun(0, "--- x\nUDP message sent", "", ("127.0.0.1", 1)).report("far end") == [
        "sipp far end: exit 0 (all calls succeeded)"]


def test_a_real_sipp_that_fails_with_exit_1_is_explained(tmp_path: Path):
    """SIPp exits 1 -- "normal", a call failed -- on a scenario it cannot read, having sent
    nothing: the case that used to read as `status: expected 200, got nothing` alone."""
    xml = '<?xml version="1.0"?>\n<scenario name="broken">\n  <bogus/>\n</scenario>\n'
    run = asyncio.run(run_sipp(xml, tmp_path, "caller", "127.0.0.1", ("127.0.0.1", free_port("127.0.0.1")), [], 5))
    assert run.report("caller") == [
        "sipp caller: exit 1 (at least one call failed)",
        "  Unknown element 'bogus' in xml scenario file",
        "  its message trace (-trace_msg) is empty: it sent and received no SIP message",
    ]


def test_a_failure_with_no_sip_shows_expected_versus_got_that_nothing_was_captured_and_sipp_lines():
    loaded = ROUTING["open individual room"]
    run = SippRun(1, "", STDERR, ("127.0.0.11", 5062))
    result = CallResult(errors=["sipp caller: no SIP message was exchanged (its message trace is empty)"],
                        notes=run.report("caller"))
    outcome = Outcome(loaded, "sipp", check(loaded.scenario.expect, result), result)
    assert failure_block(outcome) == [
        "___ scenarios/demo/inbound/routing.yaml::open individual room (sipp) ___",
        "scenarios/demo/inbound/routing.yaml:8:5: scenario 'open individual room'",
        "  sipp caller: no SIP message was exchanged (its message trace is empty)",
        "  status: expected 200, got nothing",
        "  trunk: expected 'twilio', got nothing",
        "  rule: expected 'support', got nothing",
        "  room: expected /support_\\+16505550111_[A-Za-z0-9]{12}/, got nothing",
        "  participant.identity: expected 'sip_+16505550111', got nothing",
        "  participant.attributes[team]: expected 'support', got nothing",
        "  participant.attributes[sip.trunkPhoneNumber]: expected '+15105550100', got nothing",
        "  participant.attributes[sip.phoneNumber]: expected '+16505550111', got nothing",
        "  SIP ladder: no SIP message was captured",
        "  sipp caller: exit 1 (at least one call failed)",
        "    Aborting call on unexpected message for Call-Id 'c1': while expecting '200' (index 16),"
        " received 'SIP/2.0 500 Server Error'",
        "    its message trace (-trace_msg) is empty: it sent and received no SIP message",
    ]
    text = ElementTree.fromstring(junit_xml([outcome])).find("./testsuite/testcase/failure").text.splitlines()
    assert text[-4:] == [
        "SIP ladder: no SIP message was captured",
        "sipp caller: exit 1 (at least one call failed)",
        "  Aborting call on unexpected message for Call-Id 'c1': while expecting '200' (index 16),"
        " received 'SIP/2.0 500 Server Error'",
        "  its message trace (-trace_msg) is empty: it sent and received no SIP message",
    ]
