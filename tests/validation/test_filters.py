"""List filters, slot and server forms (docs/livekit.md#list-filters)."""

from __future__ import annotations

from livekit.protocol import sip
from livekit.protocol.models import Pagination

from sipconf.validation.filters import filter_dispatch_rules, filter_inbound_trunks, filter_outbound_trunks


def ids(items, field="sip_trunk_id"):
    return [None if i is None else getattr(i, field) for i in items]


IN = [
    sip.SIPInboundTrunkInfo(sip_trunk_id="C", numbers=["+1 (555)"]),
    sip.SIPInboundTrunkInfo(sip_trunk_id="A"),
    sip.SIPInboundTrunkInfo(sip_trunk_id="B", numbers=["+2"]),
]


def test_inbound_numbers_normalised_and_wildcards_pass():
    req = sip.ListSIPInboundTrunkRequest(numbers=["1555"])
    assert ids(filter_inbound_trunks(IN, req, slots=True)) == ["C", "A"]
    assert ids(filter_inbound_trunks(IN, req)) == ["A", "C"]


def test_outbound_numbers_raw_only():
    out = [sip.SIPOutboundTrunkInfo(sip_trunk_id="X", numbers=["+1 555"]), sip.SIPOutboundTrunkInfo(sip_trunk_id="Y")]
    assert ids(filter_outbound_trunks(out, sip.ListSIPOutboundTrunkRequest(numbers=["+1555"]), slots=True)) == ["Y"]
    assert ids(filter_outbound_trunks(out, sip.ListSIPOutboundTrunkRequest(numbers=["+1 555"]), slots=True)) == ["X", "Y"]


def test_slots_follow_request_order_and_duplicate():
    req = sip.ListSIPInboundTrunkRequest(trunk_ids=["B", "Z", "B", "C"], numbers=["+2"])
    # C fails the number filter and is removed; the missing Z keeps its empty slot.
    assert ids(filter_inbound_trunks(IN, req, slots=True)) == ["B", None, "B"]


def test_server_form_sorted_paged():
    req = sip.ListSIPInboundTrunkRequest(page=Pagination(after_id="A", limit=1))
    assert ids(filter_inbound_trunks(IN, req)) == ["B"]
    assert ids(filter_inbound_trunks(IN, sip.ListSIPInboundTrunkRequest(trunk_ids=["C", "Z", "A"]))) == ["A", "C"]


def test_rules_by_trunk():
    rules = [
        sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="R2", trunk_ids=["T1"]),
        sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="R1"),
        sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="R3", trunk_ids=["T2"]),
    ]
    req = sip.ListSIPDispatchRuleRequest(trunk_ids=["T1"])
    assert ids(filter_dispatch_rules(rules, req, slots=True), "sip_dispatch_rule_id") == ["R2", "R1"]
    assert ids(filter_dispatch_rules(rules, req), "sip_dispatch_rule_id") == ["R1", "R2"]
    req = sip.ListSIPDispatchRuleRequest(dispatch_rule_ids=["R3", "R9"])
    assert ids(filter_dispatch_rules(rules, req, slots=True), "sip_dispatch_rule_id") == ["R3", None]
