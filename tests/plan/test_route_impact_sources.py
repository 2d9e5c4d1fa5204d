"""Route impact per representative source and caller, and its rows: the pure computation on
hand-built sides."""

from __future__ import annotations

from livekit.protocol import sip

from sipconf.plan.callers import Callers, calls_to
from sipconf.plan.changes import OTHER_CALLER, OTHER_SOURCE, RouteChange, RouteOutcome
from sipconf.plan.diff import Side
from sipconf.plan.impact import NO_RULE, NO_TRUNK, Routes, route_impact
from sipconf.plan.labels import row_label

NUMBER = "+15105550100"
ROUTED = RouteOutcome("twilio", "support", "support")
UNROUTED = RouteOutcome(rejection=NO_TRUNK)


def trunk(addresses=(), callers=(), numbers=(NUMBER,), name="twilio") -> sip.SIPInboundTrunkInfo:
    return sip.SIPInboundTrunkInfo(
        sip_trunk_id=name, name=name, numbers=list(numbers),
        allowed_addresses=list(addresses), allowed_numbers=list(callers),
    )


def rule(name="support", inbound=(), trunks=("twilio",), numbers=()) -> sip.SIPDispatchRuleInfo:
    msg = sip.SIPDispatchRuleInfo(
        sip_dispatch_rule_id=name, name=name, trunk_ids=list(trunks), inbound_numbers=list(inbound), numbers=list(numbers)
    )
    msg.rule.dispatch_rule_direct.room_name = name
    return msg


def side(*trunks, rules=(rule(),)) -> Side:
    return Side(tuple(trunks), tuple(rules))


def sources(number, *sides):
    found, _callers = calls_to(number, *(Routes(s) for s in sides))
    return [(s.label, s.src_ip, s.from_host) for s in found]


def callers(number, *sides):
    _sources, found = calls_to(number, *(Routes(s) for s in sides))
    return [c.numbers for c in found]


def callers_range(first: int, last: int) -> list[str]:
    return [f"+1408555{n:04d}" for n in range(first, last + 1)]


def test_each_entry_is_called_from_its_network_address_its_address_or_as_its_from_host():
    masks = ["10.1.2.3/16", "2001:db8:1::7/48", "127.0.0.11", "sip.example.com", "bad entry"]
    assert sources(NUMBER, side(trunk(masks))) == [
        ("10.1.2.3/16", "10.1.0.0", ""),
        ("2001:db8:1::7/48", "2001:db8:1::", ""),
        ("127.0.0.11", "127.0.0.11", ""),
        ("sip.example.com", "192.0.2.1", "sip.example.com"),
        (OTHER_SOURCE, "192.0.2.1", ""),
    ]


def test_any_other_source_is_an_address_no_entry_admits_and_absent_when_every_address_is():
    assert sources(NUMBER, side(trunk(["192.0.2.0/24"])))[-1] == (OTHER_SOURCE, "198.51.100.1", "")
    assert [s[0] for s in sources(NUMBER, side(trunk(["0.0.0.0/0", "::/0"])))] == ["0.0.0.0/0", "::/0"]


def test_callers_fall_into_classes_each_filter_treats_alike():
    listed = callers_range(0, 99)
    before = side(trunk(callers=listed), rules=(rule(inbound=["+14085550007", "+14085550100"]),))
    assert callers(NUMBER, before) == [
        tuple(c for c in listed if c != "+14085550007"),  # the trunk admits them, the rule does not
        ("+14085550007",),  # both admit it
        ("+14085550100",),  # only the rule
        (),  # any other caller
    ]


def test_a_trunk_matches_callers_normalised_a_rule_exactly_as_written():
    before = side(trunk(callers=["+1 408 555 0000"]), rules=(rule(inbound=["+14085550000"]),))
    assert callers(NUMBER, before) == [("+1 408 555 0000",), ("+14085550000",), ()]


def test_trunks_and_rules_for_other_numbers_add_no_representative():
    other = trunk(["127.0.0.11/32"], ["+14085550000"], numbers=["+15105550199"], name="other")
    other_rule = rule("vip", inbound=["+14085550001"], trunks=("other",))
    found = calls_to(NUMBER, Routes(side(trunk(), other, rules=(rule(), other_rule))))
    assert ([s.label for s in found[0]], found[1]) == ([None], [Callers()])


def test_a_change_every_call_sees_alike_names_no_source_or_caller():
    [row] = route_impact(side(trunk()), side(trunk(), rules=()))
    assert (row.numbers, row.sources, row.callers) == ((NUMBER,), None, None)
    rows = route_impact(side(trunk(["127.0.0.11/32"])), side(trunk()))  # opening the allowlist
    assert [(r.sources, r.before, r.after, r.unroutes) for r in rows] == [((OTHER_SOURCE,), UNROUTED, ROUTED, False)]


def test_removing_an_address_unroutes_the_number_from_it_only():
    before, after = side(trunk(["127.0.0.11/32", "127.0.1.0/24"])), side(trunk(["127.0.0.11/32"]))
    [row] = route_impact(before, after)
    assert (row.numbers, row.sources, row.callers, row.before, row.after, row.unroutes) == (
        (NUMBER,), ("127.0.1.0/24",), None, ROUTED, UNROUTED, True
    )
    assert RouteChange.from_json(row.to_json()) == row
    assert row.to_json()["sources"] == ["127.0.1.0/24"] and row.to_json()["callers"] is None


def test_one_caller_removed_from_a_hundred_is_one_row_naming_that_caller():
    before, after = side(trunk(callers=callers_range(0, 99))), side(trunk(callers=callers_range(0, 98)))
    [row] = route_impact(before, after)
    assert (row.callers, row.after) == (("+14085550099",), UNROUTED)
    assert row_label(row) == "+15105550100 from caller +14085550099"


def test_a_rule_change_seen_by_a_hundred_callers_is_one_row_with_their_range():
    listed = callers_range(0, 99)
    moved = rule("support")
    moved.rule.dispatch_rule_direct.room_name = "support-2"
    [row] = route_impact(side(trunk(callers=listed)), side(trunk(callers=listed), rules=(moved,)))
    assert row.callers == tuple(listed) and row.sources is None
    assert row_label(row) == "+15105550100 from callers +14085550000..+14085550099 (100)"
    assert row.to_json()["callers"] == ["+14085550000..+14085550099"]


def test_a_caller_rule_that_moves_rooms_shows_for_that_caller_only():
    before = side(trunk(), rules=(rule("support"),))
    after = side(trunk(), rules=(rule("support"), rule("vip", inbound=["+14085550000"])))
    [row] = route_impact(before, after)
    assert (row.callers, row.after) == (("+14085550000",), RouteOutcome("twilio", "vip", "vip"))
    assert row_label(row) == "+15105550100 from caller +14085550000"


def test_any_other_caller_is_named_when_it_changes_with_some_callers():
    before = side(trunk(), rules=(rule("support", inbound=["+14085550000"]),))
    after = side(trunk(), rules=())
    rows = route_impact(before, after)
    assert [(r.callers, r.before.rule) for r in rows] == [(("+14085550000",), "support")]
    opened = route_impact(side(trunk(callers=["+14085550000"]), rules=()), side(trunk(), rules=()))
    assert [r.callers for r in opened] == [(OTHER_CALLER,)]
    assert row_label(opened[0]) == f"+15105550100 from {OTHER_CALLER}"


def test_numbers_that_change_alike_are_one_row_and_a_gap_or_another_outcome_splits_them():
    numbers = [f"+1510555{n:04d}" for n in range(100, 120)] + ["+15105550150"]
    before = side(trunk(numbers=numbers), rules=(rule(),))
    after = side(trunk(numbers=numbers), rules=(rule(numbers=["+15105550110"]),))
    rows = route_impact(before, after)
    assert [(row_label(r), r.after.rejection) for r in rows] == [
        ("+15105550100..+15105550109, +15105550111..+15105550119, +15105550150 (20 numbers)", NO_RULE)
    ]


def test_only_numbers_a_changed_object_reaches_are_evaluated_and_unchanged_sides_have_no_rows():
    big = trunk(numbers=[f"+1510555{n:04d}" for n in range(0, 5000)], name="big")
    small_before = trunk(numbers=["+14155550100"], name="small")
    small_after = trunk(numbers=["+14155550100", "+14155550101"], name="small")
    rules = (rule("support", trunks=("big",)), rule("line", trunks=("small",)))
    assert route_impact(side(big, small_before, rules=rules), side(big, small_before, rules=rules)) == ()
    [row] = route_impact(side(big, small_before, rules=rules), side(big, small_after, rules=rules))
    assert (row.numbers, row.before, row.after.rule) == (("+14155550101",), UNROUTED, "line")
