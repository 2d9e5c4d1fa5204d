"""Host format (docs/livekit.md#host-format)."""

from __future__ import annotations

import pytest

from sipconf.validation.hosts import validate_host


@pytest.mark.parametrize(
    "value, problem",
    [
        ("sip.example.com", None),
        ("10.0.0.1:5060", None),
        ("[::1]:5060", None),
        ("", None),
        ("h;transport=tcp", "trunk address should not contain transport parameter"),
        ("sip:h;transport=tcp", "trunk address should not contain transport parameter"),
        ("user@h", "trunk address should be a hostname or IP, not SIP URI"),
        ("h;lr", "trunk address should be a hostname or IP, not SIP URI"),
        ("sip:h", "trunk address should be a hostname or IP, not SIP URI"),
        ("sips:h", "trunk address should be a hostname or IP, not SIP URI"),
    ],
)
def test_validate_host(value, problem):
    assert validate_host(value, "trunk address") == problem
