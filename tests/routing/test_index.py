"""The routing index: its API, the trace flag, and the cases its lookups are built for.

Every answer is compared with the literal engine (`route`, `authenticate`, `dispatch`) on the
same trunks and rules; `test_index_differential.py` does the same on random specs.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import fields

from hypothesis import given, settings, strategies as st
from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.evaluate import Evaluation
from sipconf.routing.index import RoutingIndex
from sipconf.routing.index_addresses import AddressIndex, TrunkFilter, parse_source
from sipconf.routing.index_trunks import normalized
from sipconf.routing.masks import parse_addr
from sipconf.routing.numbers import normalize_number
from sipconf.routing.route import Mode, Outcome, authenticate, dispatch, route
from sipconf.routing.trace import Decision
from tests.routing.rule_builders import callee, direct


def trunk(tid, numbers=(), **kw):
    return sip.SIPInboundTrunkInfo(sip_trunk_id=tid, numbers=numbers, **kw)


def call(to_user="+15105550100", from_user="+15550001", src_ip="10.0.0.7", **kw):
    return CallFacts(from_user=from_user, to_user=to_user, src_ip=src_ip, sip_call_id="SCL_1",
                     call_id_full="c@1", from_tag="t", **kw)


def assert_same(got, want):
    assert got.error == want.error
    g, w = got.value, want.value
    assert (g.action, g.status, g.reason, g.evaluation, g.attributes) == (
        w.action, w.status, w.reason, w.evaluation, w.attributes)
    assert g.trunk is w.trunk and g.rule is w.rule


def routed_both_ways(trunks, rules, facts, mode=Mode.EXPLICIT):
    index = RoutingIndex.build(trunks, rules)
    got = index.route(facts, mode, rng=random.Random(1))
    want = route(trunks, rules, facts, mode, rng=random.Random(1))
    assert_same(got, want)
    return got


def test_no_trace_unless_asked():
    trunks, rules = [trunk("ST_a", ["+15105550100"])], [direct("SDR_1")]
    index = RoutingIndex.build(trunks, rules)
    assert index.route(call(), Mode.EXPLICIT).trace == ()
    assert index.authenticate(call(), Mode.EXPLICIT).trace == ()
    assert index.dispatch(call(), Mode.EXPLICIT, trunk_id_hint="ST_a").trace == ()


def test_with_trace_explains_as_the_reference_does():
    trunks = [trunk("ST_a", ["+15105550100"]), trunk("ST_b", ["+15105550199"])]
    rules = [direct("SDR_1", trunk_ids=["ST_a"]), direct("SDR_2", room="other")]
    index = RoutingIndex.build(trunks, rules)
    got = index.route(call(), Mode.EXPLICIT, rng=random.Random(1), with_trace=True)
    want = route(trunks, rules, call(), Mode.EXPLICIT, rng=random.Random(1))
    assert got.trace == want.trace
    assert "trunk ST_b dropped: called number +15105550100 not in numbers" in got.trace
    assert index.authenticate(call(), Mode.OSS, with_trace=True).trace == authenticate(trunks, call(), Mode.OSS).trace
    assert index.dispatch(call(), Mode.OSS, trunk_id_hint="ST_a", with_trace=True).trace == dispatch(
        trunks, rules, call(), Mode.OSS, trunk_id_hint="ST_a").trace


def test_reference_without_trace_decides_the_same_and_keeps_no_trace():
    trunks = [trunk("ST_a", ["+15105550100"], allowed_addresses=["10.0.0.0/8"])]
    rules = [direct("SDR_1", trunk_ids=["ST_a"], pin="12")]
    for facts in (call(), call(pin="12"), call(pin="99"), call(src_ip="bogus")):
        for mode in Mode:
            quiet = route(trunks, rules, facts, mode, authenticated=True, rng=random.Random(1), with_trace=False)
            loud = route(trunks, rules, facts, mode, authenticated=True, rng=random.Random(1))
            assert quiet.trace == () and loud.trace
            assert_same(quiet, loud)


def test_address_index_ipv4_and_ipv6_prefixes_addresses_and_hosts():
    masks = {
        "ST_v4net": ["10.1.0.0/16"], "ST_v4host": ["10.1.2.3/32"], "ST_v4any": ["0.0.0.0/0"],
        "ST_v6net": ["2001:db8::/32"], "ST_v6host": ["2001:db8::7/128"], "ST_v6any": ["::/0"],
        "ST_ip": ["10.1.2.3"], "ST_zoned": ["fe80::1%eth0"], "ST_mapped": ["::ffff:10.1.2.3"],
        "ST_name": ["pbx.example"], "ST_bits": ["10.1.2.99/24"],
    }
    filters = [TrunkFilter.compile(n, trunk(tid, allowed_addresses=m)) for n, (tid, m) in enumerate(masks.items())]
    index = AddressIndex(filters)

    def found(src, host=""):
        return sorted(f.trunk.sip_trunk_id for f in index.lookup(parse_source(src), host))

    assert found("10.1.2.3") == ["ST_bits", "ST_ip", "ST_v4any", "ST_v4host", "ST_v4net"]
    assert found("10.1.9.9") == ["ST_v4any", "ST_v4net"]
    assert found("2001:db8::7") == ["ST_v6any", "ST_v6host", "ST_v6net"]
    # IPv4-mapped IPv6 is IPv6: no IPv4 prefix contains it, and it equals only itself.
    assert found("::ffff:10.1.2.3") == ["ST_mapped", "ST_v6any"]
    # A zoned source equals the same zoned address, and no prefix contains it.
    assert found("fe80::1%eth0") == ["ST_zoned"]
    assert found("192.0.2.1", host="pbx.example") == ["ST_name", "ST_v4any"]


def test_many_trunks_sharing_a_number_are_told_apart_by_source():
    trunks = [trunk(f"ST_{n:03d}", ["+15105550100"], allowed_addresses=[f"198.51.100.{n}/32"]) for n in range(40)]
    trunks.append(trunk("ST_open", ["+15105550199"]))
    rules = [direct("SDR_1")]
    got = routed_both_ways(trunks, rules, call(src_ip="198.51.100.17"))
    assert got.value.trunk.sip_trunk_id == "ST_017"
    assert routed_both_ways(trunks, rules, call(src_ip="198.51.101.17")).value.reason == "No trunk found"
    # Without a source every address check passes: all 40 match, a conflict.
    assert routed_both_ways(trunks, rules, call(src_ip="")).error.message == 'Multiple SIP Trunks matched for "+15105550100"'


def test_default_trunks_by_source_and_caller():
    trunks = [trunk(f"ST_{n:04d}", allowed_addresses=[f"10.{n // 256}.{n % 256}.0/24"]) for n in range(601)]
    trunks += [trunk("ST_vip", allowed_numbers=["+1 555 0009"], allowed_addresses=["10.2.88.0/24"])]
    rules = [direct("SDR_1")]
    assert routed_both_ways(trunks, rules, call(src_ip="10.1.44.9")).value.trunk.sip_trunk_id == "ST_0300"
    # 10.2.88.0/24 is trunk 600's and the VIP trunk's: the VIP's caller makes two defaults.
    assert routed_both_ways(trunks, rules, call(src_ip="10.2.88.1", from_user="15550009")).error.message == (
        'Multiple default SIP Trunks matched for "+15105550100"')
    assert routed_both_ways(trunks, rules, call(src_ip="10.2.88.1")).value.trunk.sip_trunk_id == "ST_0600"


def test_first_rule_error_by_id_wins_between_default_and_trunk_rules():
    trunks = [trunk("ST_a", ["+15105550100"])]
    broken = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_b", trunk_ids=["ST_a"])  # no room rule
    twins = [direct("SDR_a", room="x"), direct("SDR_c", room="y")]  # two catch-alls: a conflict at SDR_c
    assert routed_both_ways(trunks, [broken, *twins], call()).error.message == "unsupported SIP Dispatch Rule: <nil>"
    broken.sip_dispatch_rule_id = "SDR_d"
    assert routed_both_ways(trunks, [broken, *twins], call()).error.message.startswith("Dispatch rule for the same")


def test_a_rule_naming_the_empty_trunk_id_conflicts_with_rules_naming_none():
    trunks = [trunk("", ["+15105550100"])]
    rules = [direct("SDR_1", trunk_ids=[""]), direct("SDR_2", room="other")]
    assert routed_both_ways(trunks, rules, call()).error.message.startswith("Dispatch rule for the same")


def test_hidden_empty_caller_is_refused_as_the_reference_does():
    trunks, rules = [trunk("ST_a", ["+15105550100"])], [direct("SDR_1", hide_phone_number=True)]
    got = routed_both_ways(trunks, rules, call(from_user=""))
    assert (got.value.action, got.error.message) == ("error", "hide_phone_number with an empty caller")


def test_pin_flow_second_request_through_dispatch():
    trunks, rules = [trunk("ST_a", ["+15105550100"])], [direct("SDR_1", trunk_ids=["ST_a"], pin="4242")]
    index = RoutingIndex.build(trunks, rules)
    for entered in (call(pin="4242"), call(pin="1"), call(no_pin=True)):
        got = index.dispatch(entered, Mode.EXPLICIT, trunk_id_hint="ST_a", rng=random.Random(1))
        assert_same(got, dispatch(trunks, rules, entered, Mode.EXPLICIT, trunk_id_hint="ST_a", rng=random.Random(1)))
    assert index.dispatch(call(pin="1"), Mode.EXPLICIT, trunk_id_hint="ST_a").error.message == "Incorrect PIN for SIP room"


@settings(max_examples=600, derandomize=True, database=None, deadline=None)
@given(st.one_of(
    st.tuples(*[st.integers(0, 300)] * 4).map(lambda t: ".".join(map(str, t))),
    st.lists(st.sampled_from(["0", "00", "01", "1", "255", "256", "999", "1000", "", "٣", "+1", " 1"]),
             min_size=1, max_size=5).map(".".join),
    st.text(alphabet="0123456789abcdef.:%/ ", max_size=20),
    st.lists(st.sampled_from(["", "0", "1", "ff", "FFFF", "abcd", "12345", "g", "1.2.3.4", "0:0"]),
             min_size=1, max_size=10).map(":".join),
    st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
    st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n).exploded.upper()),
))
def test_parse_source_reads_addresses_as_parse_addr_does(text):
    addr = parse_addr(text)
    assert parse_source(text) == (None if addr is None else (addr.version, addr.value, addr.zone))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.one_of(
    st.text(alphabet="+0123456789 -()٣a", max_size=12),
    st.integers(0, 10**12).map(str),
    st.integers(0, 10**12).map(lambda n: f"+{n}"),
))
def test_normalized_is_normalize_number(number):
    assert normalized(number) == normalize_number(number)


def test_results_built_at_once_have_every_field_their_class_declares():
    trunks = [trunk("ST_a", ["+15105550100"], headers={"X-Out": "1"}, krisp_enabled=True)]
    rules = [direct("SDR_1", trunk_ids=["ST_a"])]
    index = RoutingIndex.build(trunks, rules)
    for facts in (call(), call(src_ip="bogus"), call(to_user="+19995550000")):
        got = index.route(facts, Mode.EXPLICIT)
        made = [(got, Decision), (got.value, Outcome)]
        if got.value.evaluation is not None:
            made.append((got.value.evaluation, Evaluation))
        for value, cls in made:
            assert type(value) is cls and list(vars(value)) == [f.name for f in fields(cls)]
        assert_same(got, route(trunks, rules, facts, Mode.EXPLICIT))


def bench_shaped(trunk_count):
    """Trunks of 10 numbers with an allowlist and a header mapping; a callee rule on half the
    numbers and a catch-all rule per trunk."""
    trunks, rules = [], []
    for n in range(trunk_count):
        numbers = [f"+1510555{n:03d}{i}" for i in range(10)]
        trunks.append(trunk(f"ST_{n:03d}", numbers, allowed_addresses=[f"10.0.{n}.0/24"], headers_to_attributes={"X-Tier": "tier"}))
        rules += [callee(f"SDR_{n:03d}a", "callee", trunk_ids=[f"ST_{n:03d}"], numbers=numbers[:5]),
                  direct(f"SDR_{n:03d}b", f"room-{n}", trunk_ids=[f"ST_{n:03d}"])]
    return trunks, rules


def test_numbers_with_the_same_trunks_and_rules_share_one_record():
    trunks, rules = bench_shaped(50)
    index = RoutingIndex.build(trunks, rules)
    records = {id(record) for record in index._called.values()}
    # Per trunk: its numbers some rule lists, and the others. Trunks share their settings.
    assert (len(index._called), len(records)) == (500, 100)
    assert len({id(unit.config) for unit in index._units}) == 1
    assert len({id(entry.config) for record in index._called.values() for entry in record.specific}) == 2
    for facts in (call(to_user="+15105550123", src_ip="10.0.12.9"), call(to_user="+15105550128", src_ip="10.0.12.9")):
        assert_same(index.route(facts, Mode.EXPLICIT, rng=random.Random(1)),
                    route(trunks, rules, facts, Mode.EXPLICIT, rng=random.Random(1)))


def test_a_spelling_no_rule_lists_still_reaches_the_trunk_and_its_catch_all():
    trunks = [trunk("ST_a", ["+1 510 555 0100"])]
    rules = [direct("SDR_1", trunk_ids=["ST_a"], numbers=["+15105550100"]), direct("SDR_2", room="all", trunk_ids=["ST_a"])]
    for to_user in ("+15105550100", "15105550100", "+1 (510) 555-0100"):
        got = routed_both_ways(trunks, rules, call(to_user=to_user))
        assert got.value.rule.sip_dispatch_rule_id == ("SDR_1" if to_user == "+15105550100" else "SDR_2")


def test_match_trunk_and_select_rule_answer_as_the_reference():
    trunks = [trunk("ST_a", ["+15105550100"]), trunk("ST_b", ["+15105550100"], allowed_numbers=["+15550001"])]
    rules = [direct("SDR_1", trunk_ids=["ST_a"]), direct("SDR_2", room="x", trunk_ids=["ST_b"], pin="12"), direct("SDR_3", room="y")]
    index = RoutingIndex.build(trunks, rules)
    conflict = index.match_trunk(call())
    assert (conflict.value, conflict.error.message) == (None, 'Multiple SIP Trunks matched for "+15105550100"')
    assert index.match_trunk(call(from_user="+15550002")).value is trunks[0]
    assert index.select_rule(trunks[0], call()).value is rules[0]
    assert index.select_rule(trunks[1], call()).value is rules[1]
    assert index.select_rule(trunks[1], call(no_pin=True)).value is rules[2]
    assert index.select_rule(None, call()).value is rules[2]
    unknown = sip.SIPInboundTrunkInfo(sip_trunk_id="ST_other")
    assert index.select_rule(unknown, call()).value is rules[2]
    none = index.select_rule(trunks[1], call(pin="99"))
    assert (none.value, none.error.message) == (None, "No SIP Dispatch Rules defined")
