"""Each check with a minimal state: one that trips it (exact line) and one that does not."""

from __future__ import annotations

from sipconf.checks.rules import DEFAULT_CHECKS
from sipconf.model import SecretRef

A = ["+15105550100"]


def codes():
    return [c.code for c in DEFAULT_CHECKS]


def test_codes_are_unique_kebab_case():
    assert len(set(codes())) == len(codes())
    assert all(c == c.lower() and " " not in c and "_" not in c for c in codes())


def test_every_code_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "checks.md").read_text()
    assert all(f"`{c}`" in doc for c in codes())


def test_inbound_trunk_without_security_is_rejected_with_livekits_text(b):
    bad = b.inbound("open")
    assert b.lines(bad, code="livekit-rejects-object") == [
        f"spec.yaml:{bad.origin.line}:3: error: for security, one of the fields must be set:"
        " AuthUsername+AuthPassword, AllowedAddresses or Numbers [livekit-rejects-object]"
    ]


def test_unresolved_password_counts_as_set(b):
    ok = b.inbound("auth", auth_username="acme", password=SecretRef(env="SIP_PASSWORD"))
    assert b.lines(ok) == []


def test_outbound_address_is_checked_even_without_numbers(b):
    bad = b.outbound("out", address="sip:acme@pstn.example.com")
    assert b.lines(bad) == [
        f"spec.yaml:{bad.origin.line}:3: error: trunk address should be a hostname or IP, not SIP URI"
        " [livekit-rejects-object]",
        f'spec.yaml:{bad.origin.line}:3: error: no trunk numbers specified: outbound trunk "out" needs the caller'
        " ids it may use; list them under outbound.numbers [outbound-trunk-no-numbers]",
    ]


def test_good_outbound_trunk(b):
    assert b.lines(b.outbound("out", address="127.0.0.1:5070", numbers=A, destination_country="US")) == []


def test_to_header_is_a_warning(b):
    obj = b.outbound("out", address="127.0.0.1", numbers=A, headers={"To": "sip:x@y"})
    assert b.lines(obj) == [
        f"spec.yaml:{obj.origin.line}:3: warning: header To is not supported and will be rejected in a future"
        " release; use CreateSIPParticipantRequest.to_user_override instead [livekit-header-warning]"
    ]


def test_bad_destination_country(b):
    obj = b.outbound("out", address="127.0.0.1", numbers=A, destination_country="us")
    assert b.lines(obj) == [
        f"spec.yaml:{obj.origin.line}:3: error: destination_country 'us': country must be a valid ISO 3166-1"
        " alpha-2 code (2-letter like 'US', 'IN', 'UK') [outbound-destination-country]"
    ]


def test_trunk_conflict_names_the_later_trunk_first(b):
    first, second = b.inbound("a", numbers=A), b.inbound("b", numbers=["+1 510 555 0100"])
    assert b.lines(first, second) == [
        f'spec.yaml:{second.origin.line}:3: error: Conflicting inbound SIP Trunks: "b" and "a", using the same'
        ' number(s) ["+1 510 555 0100"] without AllowedNumbers set [livekit-trunk-conflict]'
    ]


def test_every_conflicting_trunk_is_reported(b):
    objs = [b.inbound(n, numbers=A) for n in ("a", "b", "c")]
    assert [line.split(": error: ")[1][:40] for line in b.lines(*objs)] == [
        'Conflicting inbound SIP Trunks: "b" and ',
        'Conflicting inbound SIP Trunks: "c" and ',
    ]


def test_allowed_numbers_on_one_trunk_only_collide_at_call_time(b):
    a = b.inbound("a", numbers=A, allowed_numbers=["+14155550100"])
    c = b.inbound("c", numbers=A)
    assert b.lines(a, c) == [
        f'spec.yaml:{c.origin.line}:3: error: inbound trunk "a" and inbound trunk "c" both accept a call to'
        " +15105550100 from caller +14155550100 from 192.0.2.1: LiveKit answers 503 Try again later"
        ' (Multiple SIP Trunks matched for "+15105550100"); give them distinct numbers or non-overlapping'
        " allowed_numbers/allowed_addresses [inbound-trunks-overlap]"
    ]


def test_disjoint_allowlists_do_not_overlap(b):
    a = b.inbound("a", numbers=A, allowed_addresses=["127.0.0.0/24"])
    c = b.inbound("c", numbers=A, allowed_addresses=["127.0.1.0/24"], allowed_numbers=["+14155550100"])
    assert b.lines(a, c) == []


def test_rule_conflict_names_the_earlier_rule(b):
    trunk = b.inbound("t", numbers=A)
    r1 = b.rule("one", direct="a", trunk_ids=["t"])
    r2 = b.rule("two", individual="b", trunk_ids=["t"])
    assert b.lines(trunk, r1, r2) == [
        f"spec.yaml:{r2.origin.line}:3: error: Dispatch rule for the same trunk, inbound number, number, and PIN"
        ' combination already exists in dispatch rule "one" "one" [livekit-rule-conflict]'
    ]


def test_unset_rule_is_rejected(b):
    trunk = b.inbound("t", numbers=A)
    r = b.rule("none")
    assert b.lines(trunk, r, code="livekit-rejects-object") == [
        f"spec.yaml:{r.origin.line}:3: error: missing rule [livekit-rejects-object]"
    ]


def test_unknown_trunk_suggests_a_name(b):
    r = b.rule("r", direct="room", trunk_ids=["twilo"])
    assert b.lines(b.inbound("twilio", numbers=A), r) == [
        f'spec.yaml:{r.origin.line}:5: error: dispatch rule "r" names unknown trunk "twilo": did you mean "twilio"?'
        " [rule-unknown-trunk]"
    ]


def test_outbound_only_trunk(b):
    r = b.rule("r", direct="room", trunk_ids=["out"])
    out = b.outbound("out", address="127.0.0.1", numbers=A)
    assert b.lines(out, b.inbound("in", numbers=A), r) == [
        f'spec.yaml:{r.origin.line}:5: error: dispatch rule "r" names trunk "out", which has only an outbound half:'
        " no inbound call can match it; add an inbound half or remove it from the rule [rule-outbound-only-trunk]"
    ]


def test_rule_numbers_outside_its_trunk_are_unreachable(b):
    r = b.rule("r", direct="room", trunk_ids=["t"], numbers=["+15105550199"], fields=())
    assert b.lines(b.inbound("t", numbers=A), r) == [
        f'spec.yaml:{r.origin.line}:3: error: dispatch rule "r" can never be selected: no call its trunks accept'
        " matches its numbers and inbound_numbers; align them with the trunks' numbers and allowed_numbers"
        " [rule-unreachable]"
    ]


def test_rule_numbers_inside_a_default_trunk_are_reachable(b):
    trunk = b.inbound("t", allowed_addresses=["127.0.0.0/8"])
    assert b.lines(trunk, b.rule("r", direct="room", trunk_ids=["t"], numbers=["+15105550199"])) == []


def test_default_rule_is_shadowed_by_a_specific_rule(b):
    trunk = b.inbound("t", numbers=A)
    specific = b.rule("specific", callee="c", trunk_ids=["t"])
    default = b.rule("default", direct="lobby")
    assert b.lines(trunk, specific, default) == [
        f'spec.yaml:{default.origin.line}:3: warning: dispatch rule "default" is never selected: every call it'
        ' accepts goes to dispatch rule "specific" instead; narrow that rule\'s numbers or trunks, or remove this'
        " one [rule-shadowed]"
    ]


def test_rules_for_different_callers_are_both_reachable(b):
    trunk = b.inbound("t", numbers=A)
    vip = b.rule("vip", direct="vip", trunk_ids=["t"], inbound_numbers=["+14155550100"])
    rest = b.rule("rest", individual="caller", trunk_ids=["t"])
    assert b.lines(trunk, vip, rest) == []


def test_open_rule_behind_a_pin_rule_is_reached_with_hash(b):
    trunk = b.inbound("t", numbers=A)
    pin = b.rule("pin", direct="secret", trunk_ids=["t"], pin="1234")
    open_ = b.rule("open", individual="caller", trunk_ids=["t"])
    assert b.lines(trunk, pin, open_) == []


def test_default_pin_rule_is_shadowed_by_a_specific_open_rule(b):
    """With nothing entered the specific open rule wins, so no one is ever prompted for the PIN."""
    trunk = b.inbound("t", numbers=A)
    open_ = b.rule("open", individual="caller", trunk_ids=["t"])
    pin = b.rule("pin", direct="secret", pin="1234")
    assert b.lines(trunk, open_, pin, code="rule-shadowed") == [
        f'spec.yaml:{pin.origin.line}:3: warning: dispatch rule "pin" is never selected: every call it accepts'
        ' goes to dispatch rule "open" instead; narrow that rule\'s numbers or trunks, or remove this one'
        " [rule-shadowed]"
    ]


def test_same_pin_on_overlapping_rules_collides(b):
    trunk = b.inbound("t", numbers=A + ["+15105550101"])
    one = b.rule("one", direct="a", trunk_ids=["t"], numbers=A, pin=SecretRef(env="PIN"), fields=("direct.pin",))
    two = b.rule("two", direct="b", trunk_ids=["t"], pin=SecretRef(env="PIN"), fields=("direct.pin",))
    assert b.lines(trunk, one, two, code="pin-collision") == [
        f'spec.yaml:{two.origin.line}:5: warning: dispatch rules "one" and "two" use the same PIN and both accept'
        " calls to +15105550100 from +19995550100: the PIN cannot tell their rooms apart; give each rule its own"
        " PIN [pin-collision]"
    ]


def test_different_pins_do_not_collide(b):
    trunk = b.inbound("t", numbers=A + ["+15105550101"])
    one = b.rule("one", direct="a", trunk_ids=["t"], numbers=A, pin="1111")
    two = b.rule("two", direct="b", trunk_ids=["t"], pin="2222")
    assert b.lines(trunk, one, two) == []


def test_pin_never_printed(b):
    trunk = b.inbound("t", numbers=A + ["+15105550101"])
    one = b.rule("one", direct="a", trunk_ids=["t"], numbers=A, pin="987654")
    two = b.rule("two", direct="b", trunk_ids=["t"], pin="987654")
    assert not any("987654" in line for line in b.lines(trunk, one, two))


def test_header_mapped_to_two_attributes(b):
    t = b.inbound("t", numbers=A, headers_to_attributes={"X-Tier": "tier", "x-tier": "level"})
    assert b.lines(t) == [
        f'spec.yaml:{t.origin.line}:3: warning: inbound trunk "t" maps header "X-Tier", "x-tier" (one header: names'
        ' are case-insensitive) to attributes "level", "tier": keep one spelling [header-mapped-twice]'
    ]


def test_two_headers_to_one_attribute(b):
    t = b.inbound("t", numbers=A, headers_to_attributes={"X-Tier": "tier", "X-Level": "tier"})
    assert b.lines(t) == [
        f'spec.yaml:{t.origin.line}:3: warning: inbound trunk "t" maps headers "X-Level", "X-Tier" to the same'
        ' attribute "tier": which value wins is random when both are sent; map each header to its own attribute'
        " [attribute-mapped-twice]"
    ]


def test_distinct_mappings_are_fine(b):
    t = b.inbound(
        "t", numbers=A, headers_to_attributes={"X-Tier": "tier", "X-Level": "level"},
        attributes_to_headers={"tier": "X-Tier", "level": "X-Level"},
    )
    assert b.lines(t) == []
