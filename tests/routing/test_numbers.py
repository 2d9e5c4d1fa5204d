"""Number normalisation (docs/livekit.md#numbers)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies

from sipconf.routing.numbers import normalize_number, same_number


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("", ""),
        ("user", "user"),
        ("1.555", "1.555"),
        ("+", "+"),
        ("1+2", "1+2"),
        ("123", "+123"),
        ("+123", "+123"),
        ("(123) 456 7890", "+1234567890"),
        ("-", "+"),
        ("++1", "++1"),
        ("١٢٣", "١٢٣"),  # Arabic-Indic digits are not ASCII digits: unchanged
        ("+1 (510) 555-0100", "+15105550100"),
    ],
)
def test_normalize_number(raw, normalized):
    assert normalize_number(raw) == normalized


def test_same_number_raw_or_normalised():
    assert same_number("2222 2222", "+22222222")
    assert same_number("User", "User")
    assert not same_number("User", "user")  # non-numeric users compare case-sensitively
    assert not same_number("+1", "+2")


@given(strategies.text(alphabet="0123456789+-() .ab", max_size=20))
def test_normalisation_is_idempotent(s):
    once = normalize_number(s)
    assert normalize_number(once) == once


@given(strategies.text(max_size=20))
def test_normalisation_is_idempotent_on_any_text(s):
    assert normalize_number(normalize_number(s)) == normalize_number(s)
