"""Numbers as the spec writes them: consecutive runs collapse into ranges, and back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sipconf.plan.ranges import collapse, collapse_sorted, count, expand_entries


def test_runs_of_three_or_more_become_ranges_in_list_order():
    numbers = [f"+1510555{n:04d}" for n in (100, 101, 102, 103, 150, 151, 99)]
    assert collapse(numbers) == ["+15105550100..+15105550103", "+15105550150", "+15105550151", "+15105550099"]


def test_only_numbers_of_one_width_and_prefix_join():
    assert collapse(["+98", "+99", "+100"]) == ["+98", "+99", "+100"]  # +99 -> +100 changes width
    assert collapse(["1001", "1002", "1003"]) == ["1001..1003"]  # extensions, as the spec writes them
    assert collapse(["1001", "+1002", "1003"]) == ["1001", "+1002", "1003"]
    assert collapse(["alice", "bob", "carol"]) == ["alice", "bob", "carol"]
    assert collapse(["0009", "0010", "0011"]) == ["0009..0011"]


def test_sorted_ranges_of_a_set_and_their_count():
    entries = collapse_sorted({"+15105550102", "+15105550100", "+15105550101", "+19", "alice"})
    assert entries == ["+19", "+15105550100..+15105550102", "alice"]
    assert count(entries) == 5
    assert count(["a..b"]) == 1 and expand_entries(["a..b"]) == ["a..b"]  # a SIP user, not a range


NUMBERS = st.lists(
    st.one_of(st.integers(0, 40).map(lambda n: f"+1510555{n:04d}"), st.integers(0, 12).map(str), st.sampled_from(["alice", "a..b"]))
)


@given(NUMBERS)
def test_expanding_the_collapsed_list_gives_it_back(numbers):
    entries = collapse(numbers)
    assert expand_entries(entries) == numbers
    assert count(entries) == len(numbers)
