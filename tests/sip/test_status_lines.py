"""The table of SIP status lines: RFC 3261's default phrases and LiveKit's own."""

from __future__ import annotations

import pytest

from sipconf.sip import status_lines
from sipconf.sip.status_lines import RFC3261_PHRASES, StatusLine, default_phrase, rfc3261


@pytest.mark.parametrize(("code", "phrase"), [
    (100, "Trying"), (180, "Ringing"), (200, "OK"), (202, "Accepted"), (401, "Unauthorized"),
    (407, "Proxy Authentication Required"), (481, "Call/Transaction Does Not Exist"), (487, "Request Terminated"),
    (500, "Server Internal Error"), (503, "Service Unavailable"), (504, "Server Time-out"), (603, "Decline"),
])
def test_rfc3261_default_phrases(code: int, phrase: str) -> None:
    assert default_phrase(code) == phrase
    assert rfc3261(code) == StatusLine(code, phrase)


def test_a_code_rfc3261_does_not_define_has_no_phrase() -> None:
    assert default_phrase(499) == ""
    assert str(rfc3261(499)) == "499"


def test_every_rfc3261_code_is_a_status_code() -> None:
    assert all(100 <= code < 700 and phrase for code, phrase in RFC3261_PHRASES.items())


# LiveKit's own lines, verbatim: callers and the conformance vectors see these on the wire.
@pytest.mark.parametrize(("line", "text"), [
    (status_lines.PROCESSING, "100 Processing"),
    (status_lines.TRY_AGAIN, "503 Try again later"),
    (status_lines.NO_TRUNK_MATCHED, "404 Does not match any SIP Trunks"),
    (status_lines.QUOTA_EXCEEDED, "503 Service temporarily unavailable"),
    (status_lines.NO_TRUNK_FOUND, "404 No trunk found"),
    (status_lines.PROXY_CHALLENGE, "407 Unauthorized"),
    (status_lines.BAD_CREDENTIALS, "401 Bad credentials"),
    (status_lines.WRONG_CREDENTIALS, "401 Unauthorized"),
    (status_lines.RINGING, "180 Ringing"),
    (status_lines.NO_RULE_MATCHED, "404 Does not match Trunks or Dispatch Rules"),
    (status_lines.UNEXPECTED_RESULT, "501"),
    (status_lines.BAD_SDP, "400"),
    (status_lines.MEDIA_FAILED, "500"),
    (status_lines.ANSWERED, "200 OK"),
    (status_lines.REJECTED, "486 Rejected"),
    (status_lines.TERMINATED, "487 Request Terminated"),
    (status_lines.CALL_DOES_NOT_EXIST, "481 Call does not exist"),
    (status_lines.SHUTTING_DOWN, "503 Service Unavailable"),
    (status_lines.INTERNAL_ERROR, "500 Server Internal Error"),
])
def test_status_lines_render_as_sent(line: StatusLine, text: str) -> None:
    assert str(line) == text


def test_a_status_line_unpacks_into_code_and_reason() -> None:
    code, reason = status_lines.NO_RULE_MATCHED
    assert (code, reason) == (404, "Does not match Trunks or Dispatch Rules")
