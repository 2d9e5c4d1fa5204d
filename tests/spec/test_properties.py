"""Hypothesis: normalisation is idempotent and deterministic."""

from __future__ import annotations

import json

from hypothesis import assume, given, settings
from hypothesis import strategies

from sipconf.routing.numbers import normalize_number
from sipconf.spec import SpecError, loads
from sipconf.spec.numbers import NumberEntry, expand, expand_entries, is_e164

digits = strategies.text(alphabet="0123456789", min_size=4, max_size=11)


@strategies.composite
def number_entries(draw):
    """A single number or a small range: an E.164 phone number, or an extension as {user: ...}."""
    base = draw(digits)
    user = draw(strategies.booleans())
    plus = "" if user else "+"
    if draw(strategies.booleans()):
        start = int(base)
        end = min(start + draw(strategies.integers(0, 30)), 10 ** len(base) - 1)
        text = f"{plus}{base}..{plus}{end:0{len(base)}d}"
    else:
        text = plus + base
    return {"user": text} if user else text


def _entry(raw) -> NumberEntry:
    return NumberEntry(raw["user"], user=True) if isinstance(raw, dict) else NumberEntry(raw)


def _spec(numbers: list[str], rule_numbers: list[str]) -> str:
    doc = {
        "version": 1,
        "project": "p",
        "trunks": {"t": {"inbound": {"numbers": numbers}}},
        "dispatch_rules": {"r": {"trunks": ["t"], "numbers": rule_numbers, "individual": {"room_prefix": "x"}}},
    }
    return json.dumps(doc)  # JSON is YAML


@settings(max_examples=60, deadline=None)
@given(strategies.lists(number_entries(), max_size=5, unique_by=json.dumps), strategies.lists(number_entries(), max_size=3))
def test_loading_twice_yields_equal_messages(numbers, rule_numbers):
    text = _spec(numbers, rule_numbers)
    try:
        first = loads(text, "p.yaml")
    except SpecError as exc:  # overlapping generated ranges are a legitimate error
        assert {i.code for i in exc.issues} == {"duplicate-number"}
        return
    second = loads(text, "p.yaml")
    assert [o.message for o in first.objects()] == [o.message for o in second.objects()]
    assert [o.field_origins for o in first.objects()] == [o.field_origins for o in second.objects()]


@settings(max_examples=60, deadline=None)
@given(strategies.lists(number_entries(), max_size=5))
def test_phone_numbers_expand_to_livekits_normal_form_and_users_stay_as_written(entries):
    for raw in entries:
        entry = _entry(raw)
        for number in expand_entries([entry]):
            if entry.user:
                assert not number.startswith("+") and number.isdigit()
            else:
                assert is_e164(number) and normalize_number(number) == number


@settings(max_examples=60, deadline=None)
@given(number_entries())
def test_a_range_expands_to_consecutive_numbers_of_equal_width(raw):
    entry = _entry(raw)
    assume(".." in entry.text)
    numbers = expand(entry.text)
    assert len(numbers) == entry.size()
    widths = {len(n) for n in numbers}
    assert len(widths) == 1
    values = [int(n.lstrip("+")) for n in numbers]
    assert values == list(range(values[0], values[0] + len(values)))


@settings(max_examples=30, deadline=None)
@given(strategies.lists(number_entries(), min_size=1, max_size=4, unique_by=json.dumps))
def test_a_normalised_spec_reloads_to_the_same_state(entries):
    first = loads(_spec(entries, []), "p.yaml") if _distinct(entries) else None
    if first is None:
        return
    normalised = list(first.inbound[0].message.numbers)
    written = [n if n.startswith("+") else {"user": n} for n in normalised]
    again = loads(_spec(written, []), "p.yaml")
    assert list(again.inbound[0].message.numbers) == normalised


def _distinct(entries: list) -> bool:
    numbers = [normalize_number(n) for n in expand_entries([_entry(e) for e in entries])]
    return len(numbers) == len(set(numbers))
