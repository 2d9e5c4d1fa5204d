"""Lanes by role, RTP on the lane its SDP named, DTMF digits (RFC 4733 and INFO), PIN masking."""

from __future__ import annotations

from simulator.reports.lanes import Lane, lanes_of
from simulator.reports.media import digits, mask_info_signal, streams
from simulator.result import Packet

from tests.simulator.reports.calls import BRIDGE, CALLER_RTP, call, events, info, sip


def test_an_inbound_call_has_a_caller_and_a_bridge_lane_and_its_rtp_stays_on_them():
    packets = call(*events("12", 0.2))
    lanes = lanes_of(packets, "inbound")
    assert lanes.lanes == [Lane("caller", "127.0.0.31:5062"), Lane("bridge", "127.0.0.1:5060")]
    assert lanes.of(CALLER_RTP) == 0  # the SDP of the INVITE named it
    got = {(s.src, s.dst): (s.packets, s.payload_types) for s in streams(packets, lanes)}
    assert got == {(1, 0): (5, {0}), (0, 1): (6, {101})}


def test_an_outbound_call_starts_at_the_bridge_and_a_refer_adds_the_transfer_target():
    far = ("127.0.0.21", 5070)
    refer = sip("REFER sip:x@127.0.0.21:5070 SIP/2.0\nCall-ID: c2\nCSeq: 2 REFER\nRefer-To: <sip:desk@127.0.0.40:5090>")
    packets = [Packet(0.0, BRIDGE, far, sip("INVITE sip:+16505550401@127.0.0.21:5070 SIP/2.0\nCall-ID: c2\nCSeq: 1 INVITE")),
               Packet(0.1, BRIDGE, far, refer)]
    lanes = lanes_of(packets, "outbound")
    assert lanes.lanes == [Lane("bridge", "127.0.0.1:5060"), Lane("far end", "127.0.0.21:5070"),
                           Lane("transfer target", "sip:desk@127.0.0.40:5090")]


def test_each_rfc4733_event_is_one_digit_however_many_packets_repeat_it():
    packets = call(*events("4321#", 0.2), *events("5", 2.0))
    lanes = lanes_of(packets, "inbound")
    assert "".join(d.shown for d in digits(packets, lanes, None)) == "4321#5"


def test_digits_the_caller_enters_at_a_pin_prompt_are_masked_up_to_the_hash():
    packets = call(*events("4321#", 0.2), *events("5", 2.0))
    lanes = lanes_of(packets, "inbound")
    assert "".join(d.shown for d in digits(packets, lanes, 0)) == "\u2022\u2022\u2022\u2022\u20225"


def test_sip_info_digits_are_read_and_masked_like_the_others():
    packets = call(info("7", 0.3), info("#", 0.4), info("9", 0.5))
    lanes = lanes_of(packets, "inbound")
    found = digits(packets, lanes, 0)
    assert [(d.shown, d.method) for d in found] == [("\u2022", "info"), ("\u2022", "info"), ("9", "info")]
    assert b"Signal=7" not in mask_info_signal(packets[-3].data)
    assert b"Signal=\xe2\x80\xa2" in mask_info_signal(packets[-3].data)
