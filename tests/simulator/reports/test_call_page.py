"""A call's page: expected | got above the ladder, lanes and arrows in SVG, every message in
full and escaped (hostile header values included), PIN digits masked everywhere."""

from __future__ import annotations

import re

from simulator.assertions import expectations
from simulator.reports.call_page import call_html
from simulator.reports.pin_prompt import reaches_pin_prompt
from simulator.reports.site import page_of
from simulator.result import CallResult
from simulator.runner import Outcome
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO
from tests.simulator.reports.calls import call, events, info

PIN = {s.scenario.name: s for s in load_paths([DEMO / "dtmf" / "pin.yaml"])}
ROUTING = {s.scenario.name: s for s in load_paths([DEMO / "inbound" / "routing.yaml"])}
HOSTILE = "X-Evil: <script>alert(1)</script> \"quoted\" 'single' &amp; \x07bell\x1b[31m\x00\n"


def page(outcome: Outcome) -> str:
    return call_html(page_of(outcome, "call.pcap"))


def test_a_failed_call_shows_expected_versus_got_above_the_ladder():
    loaded = ROUTING["open individual room"]
    result = CallResult(status=200, reason="OK", final=True, trunk="twilio", rule="sales", packets=call(),
                        notes=["sipp caller: exit 1 (at least one call failed)"])
    from simulator.assertions import check

    html = page(Outcome(loaded, "sipp", check(loaded.scenario.expect, result), result, 1.5))
    table = html.index('<table class="expectations">')
    assert table < html.index("<svg")
    assert ('<tr class="mismatch"><td>rule</td><td>&#x27;support&#x27;</td><td>&#x27;sales&#x27;</td>'
            '<td class="mark bad">\u2717</td></tr>') in html
    assert ('<tr class="match"><td>trunk</td><td>&#x27;twilio&#x27;</td><td>&#x27;twilio&#x27;</td>'
            '<td class="mark ok">\u2713</td></tr>') in html
    assert "<pre class=\"generator\">sipp caller: exit 1 (at least one call failed)</pre>" in html
    assert '<a class="pcap" href="call.pcap">pcap</a>' in html


def test_the_ladder_has_a_lane_per_endpoint_and_an_arrow_per_message_that_opens_it():
    loaded = ROUTING["open individual room"]
    html = page(Outcome(loaded, "scapy", [], CallResult(packets=call())))
    assert re.findall(r'<g class="lane" data-role="([a-z ]+)">', html) == ["caller", "bridge"]
    assert re.findall(r'<a href="#(m\d+)" class="arrow" data-msg="m\d+">', html) == ["m0", "m1"]
    assert '<details class="message" id="m0">' in html and '<details class="message" id="m1">' in html
    assert '<g class="rtp-band" data-from="bridge" data-to="caller">' in html
    assert "<table" not in html  # a pass has no expectations table


def test_hostile_header_values_are_escaped_and_control_bytes_shown():
    loaded = ROUTING["open individual room"]
    html = page(Outcome(loaded, "scapy", ["invite.headers[X-Evil]: expected 'x', got '<script>\"'"],
                        CallResult(packets=call(extra=HOSTILE))))
    assert html.count("<script") == 1  # the page's own script, nothing from the message
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#x27;single&#x27; &amp;amp;" in html
    assert "\\x07bell\\x1b[31m\\x00" in html
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", html)
    assert "got &#x27;&lt;script&gt;&quot;&#x27;" in html


def test_digits_entered_at_the_pin_prompt_are_masked_on_the_band_in_the_messages_and_the_summary():
    loaded = PIN["right PIN joins the direct room"]
    assert reaches_pin_prompt(loaded)
    packets = call(*events("4321#", 0.2), info("8", 1.5), *events("5", 2.0))
    html = page(Outcome(loaded, "scapy", [], CallResult(packets=packets)))
    assert html.count('<g class="dtmf masked">') == 5
    assert '<span class="dtmf-digits">\u2022\u2022\u2022\u2022\u202285</span>' in html
    assert "Signal=8" in html and "4321" not in html


def test_a_pin_is_masked_when_it_comes_over_sip_info():
    loaded = PIN["right PIN joins the direct room"]
    html = page(Outcome(loaded, "sipp", [], CallResult(packets=call(info("4", 0.3), info("#", 0.4)))))
    assert "Signal=4" not in html and "Signal=\u2022" in html


def test_only_a_call_the_spec_answers_with_the_pin_prompt_masks_digits():
    assert not reaches_pin_prompt(ROUTING["open individual room"])
    loaded = ROUTING["open individual room"]
    html = page(Outcome(loaded, "scapy", [], CallResult(packets=call(*events("42", 0.2)))))
    assert '<span class="dtmf-digits">42</span>' in html


def test_expectations_list_every_field_set_matched_or_not():
    loaded = ROUTING["open individual room"]
    got = CallResult(status=200, final=True, trunk="twilio", rule="support", room="support_+16505550111_abcdefABCDEF",
                     identity="sip_+16505550111")
    rows = expectations(loaded.scenario.expect, got)
    assert [(r.field, r.ok) for r in rows] == [
        ("status", True), ("trunk", True), ("rule", True), ("room", True), ("participant.identity", True),
        ("participant.attributes[team]", False), ("participant.attributes[sip.trunkPhoneNumber]", False),
        ("participant.attributes[sip.phoneNumber]", False)]
    assert rows[5].line == "participant.attributes[team]: expected 'support', got nothing"


def test_the_media_section_says_what_the_drivers_pcap_holds():
    loaded = ROUTING["open individual room"]
    note = "This driver's pcap holds signalling only: no RTP."
    html = page(Outcome(loaded, "sipp", [], CallResult(packets=call()[:2], media_note=note)))
    assert '<p class="media-note">This driver&#x27;s pcap holds signalling only: no RTP.</p>' in html
    html = page(Outcome(loaded, "sipp", [], CallResult(packets=call()[:2])))
    assert '<p class="media-note">No RTP packet was captured in this call.</p>' in html
    assert "<p>No SIP message was captured in this call.</p>" in page(Outcome(loaded, "sipp", [], CallResult()))


def test_a_skipped_call_says_why_and_shows_no_expectations():
    from simulator.reports.call_page import CallPage

    html = call_html(CallPage("a.yaml::out", "skipped", "inproc", 0.0, "outbound", CallResult(), [],
                              ["the inproc driver routes inbound calls only"], None))
    assert '<span class="status skipped">skipped</span>' in html
    assert '<p class="skip-reason">the inproc driver routes inbound calls only</p>' in html
    assert "<table" not in html and 'class="pcap"' not in html


def test_a_regex_that_matched_only_part_of_the_value_says_so_in_the_got_cell():
    loaded = ROUTING["open individual room"]
    result = CallResult(status=200, final=True, trunk="twilio", rule="support", room="support_+16505550111_abcdefABCDEF-x")
    rows = {r.field: r for r in expectations(loaded.scenario.expect, result)}
    assert not rows["room"].ok and rows["room"].note == "regex must match the whole value"
    from simulator.assertions import check

    html = page(Outcome(loaded, "sipp", check(loaded.scenario.expect, result), result))
    assert "<td>&#x27;support_+16505550111_abcdefABCDEF-x&#x27; (regex must match the whole value)</td>" in html
