"""Destination rules (docs/livekit.md#destination)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from livekit.protocol import sip

from sipconf.validation.destination import COUNTRIES, validate_destination

BAD = "country must be a valid ISO 3166-1 alpha-2 code (2-letter like 'US', 'IN', 'UK')"


def test_absent_and_empty_are_valid():
    assert validate_destination(None) is None
    assert validate_destination(sip.Destination()) is None


def test_city_needs_country_or_region():
    assert validate_destination(sip.Destination(city="NYC")) == (
        "if city is specified, country or region must also be specified"
    )
    assert validate_destination(sip.Destination(city="NYC", region="us-east-1")) is None
    assert validate_destination(sip.Destination(city="NYC", country="US")) is None


@pytest.mark.parametrize("country", ["US", "IN", "UK", "XK", "AC", "SU", "YU", "UN", "EZ", "ZW"])
def test_accepted(country):
    assert validate_destination(sip.Destination(country=country)) is None


@pytest.mark.parametrize("country", ["us", "U", "USA", "AA", "EU", "QM", "QZ", "XA", "XZ", "ZZ", "QO", "001"])
def test_refused(country):
    assert validate_destination(sip.Destination(country=country)) == BAD


def test_list_is_the_documented_list():
    text = (Path(__file__).resolve().parents[2] / "docs" / "livekit.md").read_text(encoding="utf-8")
    accepted = re.search(r"Accepted country codes: `([A-Z ]+)`", text).group(1).split()
    assert COUNTRIES == frozenset(accepted) and len(accepted) == 285
