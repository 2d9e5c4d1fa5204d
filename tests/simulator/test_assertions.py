"""`expect` versus what was observed: one line per field, regexes matched in full."""

from __future__ import annotations

from simulator.assertions import check
from simulator.result import CallResult
from simulator.scenario.models import Expect


def test_a_regex_must_match_the_whole_value_and_the_failure_says_so():
    expect = Expect.model_validate({"room": {"regex": "support_"}, "participant": {"identity": {"regex": "sip_.*"}}})
    got = CallResult(room="support_+16505550111_AbCdEfGhIjKl", identity="sip_+16505550111")
    assert check(expect, got) == [
        "room: expected /support_/, got 'support_+16505550111_AbCdEfGhIjKl' (regex must match the whole value)",
    ]
    assert check(Expect.model_validate({"room": {"regex": "support_.*"}}), got) == []


def test_a_regex_with_nothing_to_match_says_got_nothing():
    assert check(Expect.model_validate({"room": {"regex": "support_.*"}}), CallResult()) == [
        "room: expected /support_.*/, got nothing",
    ]


def test_exact_text_mismatch_has_no_regex_hint():
    assert check(Expect.model_validate({"room": "sales"}), CallResult(room="sales_+15105550101")) == [
        "room: expected 'sales', got 'sales_+15105550101'",
    ]
