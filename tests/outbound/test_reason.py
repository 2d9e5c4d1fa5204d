"""Reason header parsing (docs/livekit.md#reason-header)."""

from __future__ import annotations

import pytest

from sipconf.outbound.reason import Reason, parse_reason


@pytest.mark.parametrize(
    ("header", "expected", "normal"),
    [
        ('Q.850;cause=16;text="Normal call clearing"', Reason("q.850", 16, "Normal call clearing"), True),
        ('Q.850 ; cause=17 ; text="User busy"', Reason("q.850", 17, "User busy"), False),
        ("SIP;cause=200;text=\"Call completed elsewhere\"", Reason("sip", 200, "Call completed elsewhere"), True),
        ("SIP;cause=0", Reason("sip", 0, ""), True),
        ("SIP;cause=487", Reason("sip", 487, ""), False),
        ("release_cause;cause=1", Reason("release_cause", 1, ""), True),
        ("Q.850;cause=abc", Reason("q.850", 0, ""), False),
        ("Q.850;cause=16;text=unquoted", Reason("q.850", 16, ""), True),
        ('Q.850;cause=21;description="Call rejected"', Reason("q.850", 21, "Call rejected"), False),
        ('Q.850;text="A";description="B"', Reason("q.850", 0, "A"), False),
        ('X.int;reasoncode=0x1F;text="whatever"', Reason("x.int", 31, "whatever"), False),
        ("X.int;reasoncode=010", Reason("x.int", 8, ""), False),
        ("X.int;reasoncode=zz", Reason("x.int", 0, ""), True),
        ('X.int;text="0x00000000";add-info=05CC.0001.0001', Reason("x.int", 0, ""), True),
        ('X.int;text="0b11"', Reason("x.int", 3, ""), False),
        ('X.int;text="busy"', Reason("x.int", 0, "busy"), True),
        ('X.int;cause=5;text="0x1"', Reason("x.int", 5, "0x1"), False),
        ('Q.850;cause=16;text="tab\\there"', Reason("q.850", 16, "tab\there"), True),
        (";", Reason("", 0, ""), True),
        ("Q.850;flag", Reason("q.850", 0, ""), False),
    ],
)
def test_parse(header: str, expected: Reason, normal: bool) -> None:
    got = parse_reason(header)
    assert got == expected
    assert got.is_normal is normal


@pytest.mark.parametrize("header", ["", "Q.850", "cause=16"])
def test_no_fields(header: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_reason(header)
    assert str(exc.value) == "no fields in the reason"


def test_call_error_text() -> None:
    assert str(Reason("q.850", 17, "User busy")) == "q.850-17: User busy"
