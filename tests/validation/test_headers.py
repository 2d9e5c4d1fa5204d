"""Header name/value rules (docs/livekit.md#validate-headers), every message verbatim."""

from __future__ import annotations

import pytest

from sipconf.validation.headers import (
    check_header_names,
    name_addr_problem,
    validate_header_name,
    validate_header_value,
    validate_headers,
)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("", "header name cannot be empty"),
        ("X" * 256, "header name too long (max 255 characters)"),
        ("X Bad", "header name X Bad contains invalid characters: char 32 not allowed"),
        ("X:Bad", "header name X:Bad contains invalid characters: char 58 not allowed"),
        (
            "X-é",
            "header name X-é contains invalid characters: "
            "char 233 out of range, consider explicilty adding utf8 characters",
        ),
        ("Call-ID", "header name Call-ID not supported"),
        ("m", "header name m not supported"),
        ("Refer-To", "header name Refer-To not supported"),
    ],
)
def test_restricted_name_errors(name, reason):
    assert validate_header_name(name) == reason


def test_token_punctuation_and_255_chars_are_fine():
    assert validate_header_name("X-a.b!c%d*e_f+g`h'i~j") is None
    assert validate_header_name("X" * 255) is None


def test_unrestricted_names_skip_the_forbidden_list():
    assert validate_header_name("From", restricted=False) is None
    assert validate_header_name("From ", restricted=False) == (
        "header name From  contains invalid characters: char 32 not allowed"
    )


@pytest.mark.parametrize(
    "value, reason",
    [
        ("x" * 1025, "header X-A: value too long (max 1024 characters)"),
        ("a\x01b", "header X-A: value: char 1 not allowed"),
        ("a\x7fb", "header X-A: value: char 127 not allowed"),
    ],
)
def test_value_errors(value, reason):
    assert validate_header_value("X-A", value) == reason


def test_values_allow_tab_and_non_ascii():
    assert validate_header_value("X-A", "a\tbé ~") is None
    assert validate_header_value("X-A", "") is None


@pytest.mark.parametrize(
    "value, problem",
    [
        ("<<sip:a@b>", "multiple opening brackets"),
        ("<sip:a@b>>", "multiple closing brackets"),
        ("<sip:a@b", "mismatched angle brackets"),
        ("sip:a@b>", "mismatched angle brackets"),
        (">sip:a@b<", "malformed angle brackets"),
        ('"Bob\\q" <sip:a@b>', "display name: invalid syntax"),
        ('" <sip:a@b>', "display name: invalid syntax"),
        ("Bob; <sip:a@b>", "display name: char 59 not allowed"),
        ("sip:a@b?x=1", "bare URI with special characters"),
        ("sip:a@b, sip:c@d", "bare URI with special characters"),
        ("<http://a>", "uri: scheme not one of sip, sips, or tel"),
        ("<SIP:a@b>", "uri: scheme not one of sip, sips, or tel"),
        ("<sip:a b@c>", "uri: contains spaces"),
    ],
)
def test_name_addr_problems(value, problem):
    assert name_addr_problem(value) == problem


@pytest.mark.parametrize("value", ['"Bob \\"B\\"" <sip:a@b>', "Bob Smith <sips:a@b>", "tel:+1555", "sip:a@b;user=phone"])
def test_name_addr_accepted(value):
    assert name_addr_problem(value) is None


def test_hard_name_error_wrapped():
    result = validate_headers({"Contact": "x"})
    assert result.error.message == "invalid header name: header name Contact not supported"
    assert result.error.code == "invalid_argument"


def test_hard_value_error_wrapped():
    result = validate_headers({"X-A": "\x00"})
    assert result.error.message == "invalid header value for X-A: header X-A: value: char 0 not allowed"


def test_to_and_via_warn():
    result = validate_headers({"To": "<sip:a@b>", "VIA": "x"})
    assert result.ok
    assert result.soft == (
        "header To is not supported and will be rejected in a future release; "
        "use CreateSIPParticipantRequest.to_user_override instead",
        "header VIA is not supported and will be rejected in a future release",
    )


def test_name_addr_soft_errors_only_for_name_addr_headers():
    result = validate_headers({"Referred-By": "<", "Reffered-By": "<", "P-Asserted-Identity": "<sip:a@b>"})
    assert result.ok
    assert result.soft == ("header Referred-By: value: mismatched angle brackets",)


def test_soft_errors_kept_before_hard_error():
    result = validate_headers({"Referred-By": "<", "Expires": "1"})
    assert result.soft == ("header Referred-By: value: mismatched angle brackets",)
    assert result.error.message == "invalid header name: header name Expires not supported"


def test_unrestricted_header_map():
    assert validate_headers({"From": "x"}, restricted=False).ok
    assert check_header_names(["X-A", ""]) == "invalid header name: header name cannot be empty"
