"""Trunk matching (docs/livekit.md#trunk-matching) and trunk conflict validation
(docs/livekit.md#trunk-conflicts)."""

from __future__ import annotations

from livekit.protocol import sip

from sipconf.routing.call import CallFacts
from sipconf.routing.trunks import match_trunk, validate_trunks


def trunk(tid, numbers=(), allowed_numbers=(), allowed_addresses=()):
    return sip.SIPInboundTrunkInfo(
        sip_trunk_id=tid, numbers=numbers, allowed_numbers=allowed_numbers, allowed_addresses=allowed_addresses
    )


CALL = CallFacts(from_user="1111 1111", to_user="2222 2222", from_host="sip.example.com", src_ip="1.1.1.1")


def test_empty_list():
    d = match_trunk([], CALL)
    assert d.ok and d.value.trunk is None and d.value.match_type == "EMPTY"


def test_none_matched_with_reason_in_trace():
    d = match_trunk([trunk("aaa", allowed_numbers=["+9"])], CALL)
    assert d.value.trunk is None and d.value.match_type == "NONE"
    assert "trunk aaa dropped: caller 1111 1111 not in allowed_numbers" in d.trace


def test_specific_beats_several_defaults():
    d = match_trunk([trunk("d1"), trunk("d2"), trunk("s", numbers=["+22222222"])], CALL)
    assert d.value.trunk.sip_trunk_id == "s"
    assert (d.value.match_type, d.value.default_trunk_count) == ("SPECIFIC", 2)


def test_two_specific_conflict():
    d = match_trunk([trunk("aaa", numbers=["2222 2222"]), trunk("bbb", numbers=["+22222222"])], CALL)
    assert d.value is None
    assert (d.error.code, d.error.message) == ("failed_precondition", 'Multiple SIP Trunks matched for "2222 2222"')


def test_two_defaults_conflict():
    d = match_trunk([trunk("a"), trunk("b")], CALL)
    assert d.error.message == 'Multiple default SIP Trunks matched for "2222 2222"'


def test_filtered_default_neither_counts_nor_conflicts():
    d = match_trunk([trunk("a"), trunk("b", allowed_addresses=["10.0.0.0/8"])], CALL)
    assert (d.value.trunk.sip_trunk_id, d.value.match_type, d.value.default_trunk_count) == ("a", "DEFAULT", 1)
    assert any("trunk b dropped: source 1.1.1.1" in line for line in d.trace)


def test_same_trunk_listing_two_forms_is_no_conflict():
    d = match_trunk([trunk("a", numbers=["+2222 2222", "2222 2222"])], CALL)
    assert d.value.trunk.sip_trunk_id == "a"


def test_conflict_quotes_called_user_go_style():
    call = CallFacts(from_user="x", to_user='a"b')
    d = match_trunk([trunk("a", numbers=['a"b']), trunk("b", numbers=['a"b'])], call)
    assert d.error.message == 'Multiple SIP Trunks matched for "a\\"b"'


def test_validate_default_conflict_names_later_first():
    err = validate_trunks([trunk("aaa", numbers=["3333 3333"]), trunk("bbb"), trunk("ccc")])
    assert err.code == "invalid_argument"
    assert err.message == (
        'Conflicting inbound SIP Trunks: "ccc" and "bbb", using the same number(s) <any> without AllowedNumbers set'
    )


def test_validate_normalised_numbers_and_allowed_number():
    err = validate_trunks([
        trunk("a", numbers=["+1 555"], allowed_numbers=["+1"]),
        trunk("", numbers=["1555", "2 3"], allowed_numbers=["1"]),
    ])
    assert err.message == (
        'Conflicting inbound SIP Trunks: "<new>" and "a", using the same number(s) ["1555" "2 3"] '
        'and AllowedNumber "1"'
    )


def test_validate_equal_ids_never_conflict():
    assert validate_trunks([trunk(""), trunk("")]) is None
    assert validate_trunks([trunk("a", numbers=["+1"]), trunk("a", numbers=["1"])]) is None


def test_validate_allowed_and_unrestricted_on_same_number_pass():
    assert validate_trunks([trunk("a", numbers=["+1"], allowed_numbers=["+2"]), trunk("b", numbers=["+1"])]) is None
