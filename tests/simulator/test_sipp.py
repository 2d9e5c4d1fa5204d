"""SIPp: generated XML, the -trace_msg parser, load-mode CSV parsing."""

from __future__ import annotations

from xml.etree import ElementTree

from simulator.loadtest import parse_rtt, parse_stat, percentile
from simulator.scenario import load_paths
from simulator.scenario.models import FarEnd
from simulator.sipptrace import final_invite_response, parse_trace, received_request
from simulator.sippxml import uac_xml, uas_xml

from tests.simulator.conftest import DEMO

SCENARIOS = {s.scenario.name: s.scenario for s in load_paths([DEMO])}

TRACE = """----------------------------------------------- 2026-11-25 13:29:24.903001
UDP message sent (200 bytes):

INVITE sip:+15105550100@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.11:5062;branch=z9hG4bK-1
From: <sip:+16505550111@127.0.0.11>;tag=1
To: <sip:+15105550100@127.0.0.1>
Call-ID: c1
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length:    10

v=0
s=-

----------------------------------------------- 2026-11-25 13:29:24.953001
UDP message received [100] bytes :

SIP/2.0 404 No trunk found
Via: SIP/2.0/UDP 127.0.0.11:5062;branch=z9hG4bK-1
From: <sip:+16505550111@127.0.0.11>;tag=1
To: <sip:+15105550100@127.0.0.1>;tag=x
Call-ID: c1
CSeq: 1 INVITE
Content-Length: 0


"""


def test_uac_xml_is_well_formed_and_never_auto_answers():
    xml = uac_xml(SCENARIOS["right PIN joins the direct room"], "127.0.0.1", credentials=("acme-telnyx", "pw"))
    root = ElementTree.fromstring(xml.split("\n", 2)[2])
    assert root.tag == "scenario"
    recvs = [r.get("response") for r in root.iter("recv") if r.get("response")]
    assert "407" in recvs and "404" in recvs and recvs.count("200") >= 2
    assert '<exec play_dtmf="4321#,100"/>' in xml
    assert "[authentication username=acme-telnyx password=pw]" in xml and "-aa" not in xml
    assert "X-" not in xml  # this scenario sends no extra headers


def test_uac_xml_carries_extra_headers_and_the_called_number():
    xml = uac_xml(SCENARIOS["X-header mapped to a participant attribute"], "127.0.0.1")
    assert "INVITE sip:+15105550100@[remote_ip]:[remote_port] SIP/2.0" in xml
    assert "X-Customer-Tier: gold\n" in xml and "From: <sip:+16505550117@[local_ip]>" in xml


def test_uas_xml_answers_refer_with_a_sipfrag_notify():
    sc = SCENARIOS["transfer declined with NOTIFY 603"]
    xml = uas_xml(sc, sc.far_end, "127.0.0.21", 40000, ("acme", "pw"))
    ElementTree.fromstring(xml.split("\n", 2)[2])
    assert "m=audio 40000 RTP/AVP 0 101" in xml
    assert "SIP/2.0 202 Accepted" in xml and "\n\nSIP/2.0 603 Decline" in xml
    assert "Content-Type: message/sipfrag;version=2.0" in xml


def test_uas_xml_challenges_then_verifies():
    xml = uas_xml(SCENARIOS["auth-challenged trunk answers the far end's digest challenge"], FarEnd(challenge=True),
                  "127.0.0.21", 40000, ("acme", "pw"))
    assert "SIP/2.0 401 Unauthorized" in xml
    assert '<verifyauth assign_to="authvalid" username="acme" password="pw"/>' in xml


def test_trace_parser_restores_messages_and_finds_the_final_response():
    local, remote = ("127.0.0.11", 5062), ("127.0.0.1", 5060)
    packets = parse_trace(TRACE, local, remote)
    assert [(p.src, p.dst) for p in packets] == [(local, remote), (remote, local)]
    assert packets[1].time == 0.05
    assert packets[0].data.endswith(b"\r\n\r\nv=0\r\ns=-\r\n")  # the body is back to its Content-Length
    final = final_invite_response(packets, local)
    assert (final.status, final.reason) == (404, "No trunk found")
    assert received_request(packets, local, "BYE") is None


def test_load_csv_parsing_and_percentiles():
    stat = "A;SuccessfulCall(C);FailedCall(C)\n1;5;0\n2;9;1\n"
    assert parse_stat(stat) == {"A": "2", "SuccessfulCall(C)": "9", "FailedCall(C)": "1"}
    assert parse_rtt("Date_ms;response_time_ms;rtd_no\n1;4.5;1\n2;x;1\n3;10;1\n") == [4.5, 10.0]
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile([], 50)) == (50.0, 99.0, 0.0)


def test_a_global_timeout_is_not_reported_as_a_syntax_error():
    from simulator.sipprun import SippRun

    timed_out = SippRun(255, "", "2026-11-25\t13:55:43.464862\t1795614943.464862: far_end timed out after '16.001' seconds\n",
                        ("127.0.0.21", 5070))
    assert timed_out.meaning == "global timeout (-timeout) reached: far_end timed out after '16.001' seconds"
    assert SippRun(255, "", "", ("127.0.0.1", 1)).meaning == "fatal error (command or syntax)"
    bind = SippRun(254, "", "x: Unable to bind audio RTP socket (IP=127.0.0.1, port=46000), errno = 98", ("127.0.0.1", 1))
    assert bind.bind_failed and not SippRun(254, "UDP message sent", bind.stderr, ("127.0.0.1", 1)).bind_failed


def test_the_far_end_waits_for_its_bye_no_longer_than_asked():
    sc = SCENARIOS["transfer declined with NOTIFY 603"]
    xml = uas_xml(sc, sc.far_end, "127.0.0.21", 40000, None, bye_timeout_ms=8000)
    assert '<recv request="BYE" timeout="8000"/>' in xml


def test_sipp_ports_come_from_below_the_ephemeral_range(tmp_path):
    from simulator.ports import LOWEST, ephemeral_range, free_port

    (tmp_path / "range").write_text("32768\t60999\n")
    assert ephemeral_range(tmp_path / "range") == (32768, 60999)
    low, _ = ephemeral_range()
    ports = [free_port("127.0.0.1"), free_port("127.0.0.1", 4)]
    assert all(LOWEST <= p < low for p in ports) and len(set(ports)) == 2
