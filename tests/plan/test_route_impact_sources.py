"""Route impact per representative source and caller: the pure computation on hand-built sides."""

from __future__ import annotations

from livekit.protocol import sip

from sipconf.plan.changes import RouteOutcome
from sipconf.plan.diff import Side
from sipconf.plan.impact import NO_TRUNK, OTHER_CALLER, OTHER_SOURCE, representatives, route_impact

NUMBER = "+15105550100"
ROUTED = RouteOutcome("twilio", "support", "support")
UNROUTED = RouteOutcome(rejection=NO_TRUNK)


def trunk(addresses=(), callers=(), numbers=(NUMBER,)) -> sip.SIPInboundTrunkInfo:
    return sip.SIPInboundTrunkInfo(
        sip_trunk_id="twilio", name="twilio", numbers=list(numbers),
        allowed_addresses=list(addresses), allowed_numbers=list(callers),
    )


def rule(name="support", inbound=()) -> sip.SIPDispatchRuleInfo:
    msg = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=name, name=name, trunk_ids=["twilio"], inbound_numbers=list(inbound))
    msg.rule.dispatch_rule_direct.room_name = name
    return msg


def side(*trunks, rules=(rule(),)) -> Side:
    return Side(tuple(trunks), tuple(rules))


def facts(number=NUMBER, *sides):
    return [(r.source, r.caller, r.src_ip, r.from_host, r.from_user) for r in representatives(number, *sides)]


def test_each_entry_is_called_from_its_network_address_its_address_or_as_its_from_host():
    masks = ["10.1.2.3/16", "2001:db8:1::7/48", "127.0.0.11", "sip.example.com", "bad entry"]
    assert facts(NUMBER, side(trunk(masks))) == [
        ("10.1.2.3/16", None, "10.1.0.0", "", ""),
        ("2001:db8:1::7/48", None, "2001:db8:1::", "", ""),
        ("127.0.0.11", None, "127.0.0.11", "", ""),
        ("sip.example.com", None, "192.0.2.1", "sip.example.com", ""),
        (OTHER_SOURCE, None, "192.0.2.1", "", ""),
    ]


def test_any_other_source_is_an_address_no_entry_admits_and_absent_when_every_address_is():
    assert facts(NUMBER, side(trunk(["192.0.2.0/24"])))[-1] == (OTHER_SOURCE, None, "198.51.100.1", "", "")
    assert [f[0] for f in facts(NUMBER, side(trunk(["0.0.0.0/0", "::/0"])))] == ["0.0.0.0/0", "::/0"]


def test_callers_are_allowed_numbers_and_rule_inbound_numbers_crossed_with_sources():
    before = side(trunk(["127.0.0.11/32"], ["+14085550000"]), rules=(rule(inbound=["+14085550001"]),))
    assert [(f[0], f[1], f[4]) for f in facts(NUMBER, before)] == [
        ("127.0.0.11/32", "caller +14085550000", "+14085550000"),
        ("127.0.0.11/32", "caller +14085550001", "+14085550001"),
        ("127.0.0.11/32", OTHER_CALLER, ""),
        (OTHER_SOURCE, "caller +14085550000", "+14085550000"),
        (OTHER_SOURCE, "caller +14085550001", "+14085550001"),
        (OTHER_SOURCE, OTHER_CALLER, ""),
    ]


def test_trunks_and_rules_for_other_numbers_add_no_representative():
    other = trunk(["127.0.0.11/32"], ["+14085550000"], numbers=["+15105550199"])
    assert facts(NUMBER, side(trunk(), other)) == [(None, None, "", "", "")]


def test_a_change_every_representative_sees_alike_names_no_source():
    before = side(trunk(["127.0.0.11/32"]), rules=(rule(inbound=[]),))
    after = side(trunk(), rules=())
    [change] = route_impact(side(trunk()), after)
    assert (change.source, change.caller, change.via) == (None, None, "")
    rows = route_impact(before, side(trunk()))  # opening the allowlist: only "any other source" changes
    assert [(r.source, r.before, r.after, r.unroutes) for r in rows] == [(OTHER_SOURCE, UNROUTED, ROUTED, False)]


def test_removing_an_address_unroutes_the_number_from_it_only():
    before, after = side(trunk(["127.0.0.11/32", "127.0.1.0/24"])), side(trunk(["127.0.0.11/32"]))
    [row] = route_impact(before, after)
    assert (row.number, row.via, row.before, row.after, row.unroutes) == (
        NUMBER, " from 127.0.1.0/24", ROUTED, UNROUTED, True
    )
    assert RouteOutcome.from_json(row.to_json()["after"]) == UNROUTED
    assert row.to_json()["source"] == "127.0.1.0/24" and row.to_json()["caller"] is None


def test_a_caller_rule_that_moves_rooms_shows_for_that_caller_only():
    before = side(trunk(), rules=(rule("support"),))
    after = side(trunk(), rules=(rule("support"), rule("vip", inbound=["+14085550000"])))
    [row] = route_impact(before, after)
    assert (row.via, row.after) == (" from caller +14085550000", RouteOutcome("twilio", "vip", "vip"))
