"""JUnit XML, pcap (read back with tshark), HTML ladder and routing coverage."""

from __future__ import annotations

import asyncio
import subprocess
from xml.etree import ElementTree
from pathlib import Path

from sipconf.spec import load as load_spec
from simulator.reports.coverage import coverage
from simulator.reports.junit import junit_xml
from simulator.reports.ladder import html_ladder, text_ladder
from simulator.reports.pcap import write_pcap
from simulator.result import Packet
from simulator.runner import RunOptions, Runner
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO

INVITE = (b"INVITE sip:+15105550100@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.11:5062;branch=z9hG4bKx\r\n"
          b"From: <sip:+16505550111@127.0.0.11>;tag=a\r\nTo: <sip:+15105550100@127.0.0.1>\r\nCall-ID: c1\r\n"
          b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
OK = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.11:5062;branch=z9hG4bKx\r\nFrom: <sip:+16505550111@127.0.0.11>;tag=a\r\n"
      b"To: <sip:+15105550100@127.0.0.1>;tag=b\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
RTP = bytes([0x80, 101, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 5, 0x0A, 0, 160])
CALL = [
    Packet(0.0, ("127.0.0.11", 5062), ("127.0.0.1", 5060), INVITE),
    Packet(0.01, ("127.0.0.1", 5060), ("127.0.0.11", 5062), OK),
    Packet(0.02, ("127.0.0.11", 40000), ("127.0.0.1", 41000), RTP),
]


def outcomes(paths):
    return asyncio.run(Runner(RunOptions(driver="inproc", environ={})).run(load_paths(paths)))


def test_junit_has_one_testcase_per_scenario_and_skipped_ones_say_why():
    got = outcomes([DEMO / "inbound" / "routing.yaml", DEMO / "outbound" / "calls.yaml"])
    root = ElementTree.fromstring(junit_xml(got))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(got)
    assert root.get("tests") == str(len(got))
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert (root.get("failures"), root.get("skipped"), len(skipped)) == ("0", "4", 4)  # outbound cannot run in process
    assert [c.find("failure") for c in skipped] == [None] * 4
    assert skipped[0].find("skipped").get("message") == (
        "the inproc driver routes inbound calls only; an outbound call needs a far end (use sipp or scapy)")
    outbound = root.find("./testsuite[@name='scenarios/demo/outbound/calls.yaml']")
    assert (outbound.get("failures"), outbound.get("skipped")) == ("0", "4")
    assert cases[0].get("name") == "open individual room"
    assert cases[0].get("classname") == "scenarios.demo.inbound.routing"


def test_a_junit_failure_carries_the_mismatch_and_the_ladder(suite_dir: Path):
    (suite_dir / "calls.yaml").write_text("""env: {DEMO_TWILIO_PASSWORD: t, DEMO_TELNYX_PASSWORD: t, DEMO_BOARD_PIN: "9876"}
scenarios:
  - name: support, wrongly expected busy
    call: {from: "+16505550111", to: "+15105550100", source: 127.0.0.11}
    expect: {status: 486}
""", encoding="utf-8")
    [failed] = outcomes([suite_dir / "calls.yaml"])
    failed.result.packets = CALL
    case = ElementTree.fromstring(junit_xml([failed])).find("./testsuite/testcase")
    assert case.find("failure").get("message") == "status: expected 486, got 200"
    text = case.find("failure").text
    assert text.startswith("status: expected 486, got 200\n")
    assert "  0.000 127.0.0.11:5062 -> 127.0.0.1:5060  INVITE" in text
    assert case.find("skipped") is None


def test_pcap_reads_back_with_tshark(tmp_path: Path):
    path = write_pcap(tmp_path / "call.pcap", CALL)
    fields = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "ip.src", "-e", "udp.dstport", "-e", "sip.Method",
         "-e", "sip.Status-Code"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert fields[:2] == ["127.0.0.11\t5060\tINVITE\t", "127.0.0.1\t5062\t\t200"]
    assert len(fields) == 3


def test_text_ladder_lists_sip_and_counts_rtp():
    assert text_ladder(CALL) == [
        "  0.000 127.0.0.11:5062 -> 127.0.0.1:5060  INVITE",
        "  0.010 127.0.0.1:5060 -> 127.0.0.11:5062  200 OK",
        "        (+ 1 RTP packets)",
    ]


def test_html_ladder_has_a_column_per_endpoint_and_a_row_per_message():
    page = html_ladder("demo::call", CALL, ["status: expected 404, got 200"])
    assert page.count("<th>") == 3  # time + two endpoints
    assert page.count('class="msg"') == 2
    assert "&rarr; INVITE" in page and "&larr; 200 OK" in page
    assert '<p class="failed">failed</p>' in page and "status: expected 404, got 200" in page


def test_coverage_names_what_no_scenario_touched():
    got = outcomes([DEMO / "inbound" / "routing.yaml"])
    cov = coverage([load_spec(DEMO / "spec.yaml")], got)
    assert cov.untouched["outbound trunks"] == ["telnyx", "twilio"]
    assert cov.untouched["dispatch rules"] == ["all-hands", "board"]
    assert cov.untouched["inbound trunks"] == []
    # The twilio block is one entry, reached by the calls to +15105550100, +15105550101 and +15105550110.
    assert cov.untouched["number entries"] == [
        "+14155550100 (telnyx inbound)", "+15105550100 (twilio outbound)", "+14155550100 (telnyx outbound)",
        "+14155550101 (telnyx outbound)"]
    # 4 trunks + 5 rules + 7 number entries (the range counts once).
    assert cov.total == 16 and round(cov.percent, 1) == round(100 * (16 - 2 - 2 - 4) / 16, 1)
    assert cov.lines()[0] == f"routing coverage: {cov.percent:.1f}% of 16 spec entries (trunks, dispatch rules, number entries)"
    assert cov.lines()[-1] == "  number range +15105550100..+15105550119 (twilio inbound): 3 of 20 numbers exercised"


def test_a_range_entry_is_covered_by_any_of_its_numbers_and_counts_once(suite_dir: Path):
    (suite_dir / "one.yaml").write_text(
        "scenarios:\n  - name: a number inside the block\n"
        "    call: {from: '+16505550999', to: '+15105550119', source: 127.0.0.11}\n"
        "    expect: {status: 404}\n", encoding="utf-8")
    got = outcomes([suite_dir / "one.yaml"])
    cov = coverage([load_spec(suite_dir / "spec.yaml")], got)
    assert "+15105550100..+15105550119 (twilio inbound)" not in cov.untouched["number entries"]
    assert "+15105550150 (twilio inbound)" in cov.untouched["number entries"]
    assert "  number range +15105550100..+15105550119 (twilio inbound): 1 of 20 numbers exercised" in cov.lines()


def test_html_ladder_shows_addresses_and_full_messages_as_text():
    import re as _re

    page = html_ladder("demo::call", CALL, [])
    assert "title=" not in page
    assert page.count("<details>") == 2 and page.count("<pre>") == 2
    assert "127.0.0.11:5062 -&gt; 127.0.0.1:5060 (UDP)" in page
    assert "From: &lt;sip:+16505550111@127.0.0.11&gt;;tag=a" in page  # the full message, escaped
    import html as _html

    text = _html.unescape(_re.sub(r"<[^>]+>", "", page))  # read as plain text
    assert "CSeq: 1 INVITE" in text and "To: <sip:+15105550100@127.0.0.1>;tag=b" in text
    assert "1 RTP packets are in this call's pcap" in text


def test_html_ladder_says_when_the_pcap_holds_signalling_only():
    page = html_ladder("demo::call", CALL[:2], [], "This driver's pcap holds signalling only: no RTP.")
    assert "This driver&#x27;s pcap holds signalling only" in page
    assert "No RTP packet was captured" in html_ladder("demo::call", CALL[:2], [])
