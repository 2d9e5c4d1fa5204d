"""NOTIFY handling for REFER (docs/livekit.md#notify)."""

from __future__ import annotations

import pytest

from sipconf.routing.errors import LiveKitError
from sipconf.outbound.notify import (
    NotifyResult,
    handle_notify,
    notify_answer,
    notify_outcome,
)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Event": "refer"}, "SIP/2.0 200 OK\r\n", NotifyResult("REFER", 0, 200, "OK")),
        ({"event": "REFER;ID=77"}, "sip/2.0 180 Ringing\r\nX: y\r\n\r\n", NotifyResult("REFER", 77, 180, "Ringing")),
        ({"o": "refer;id=5"}, "SIP/2.0 603 Declined by user\n", NotifyResult("REFER", 5, 603, "Declined by user")),
        ([("Event", "refer")], "SIP/2.0 200", NotifyResult("REFER", 0, 200, "")),
        ({"Event": "refer"}, "SIP/2.0 100 Trying", NotifyResult("REFER", 0, 100, "Trying")),
    ],
)
def test_parsed(headers, body: str, expected: NotifyResult) -> None:
    assert handle_notify(headers, body) == expected


@pytest.mark.parametrize(
    ("headers", "body", "code", "message"),
    [
        ({}, "SIP/2.0 200 OK", "malformed_request", "no event in NOTIFY request"),
        ({"Event": "presence"}, "SIP/2.0 200 OK", "unimplemented", "unknown event"),
        ({"Event": "refer; id=1"}, "SIP/2.0 200 OK", "unimplemented", "unknown event"),
        ({"Event": "refer;id=x"}, "SIP/2.0 200 OK", "unimplemented", "unknown event"),
        ({"Event": "refer;id=4294967296"}, "SIP/2.0 200 OK", "invalid_argument", "invalid event id: 4294967296"),
        ({"Event": "refer"}, "SIP/2.0", "invalid_argument", "invalid notify body: not enough tokens"),
        ({"Event": "refer"}, "SIP/3.0 200 OK", "invalid_argument", "invalid notify body: wrong prefix or SIP version"),
        ({"Event": "refer"}, "SIP/2.0 200\r\n", "invalid_argument", "invalid notify body: invalid status code '200\\r\\n'"),
    ],
)
def test_errors(headers, body: str, code: str, message: str) -> None:
    with pytest.raises(LiveKitError) as exc:
        handle_notify(headers, body)
    assert (exc.value.code, exc.value.message) == (code, message)


def test_answers() -> None:
    assert notify_answer(None) == (200, "success")
    assert notify_answer(LiveKitError("unimplemented", "unknown event")) == (501, "unknown event")
    assert notify_answer(LiveKitError("malformed_request", "no event in NOTIFY request")) == (400, "no event in NOTIFY request")
    assert notify_answer(RuntimeError("boom")) == (500, "boom")


@pytest.mark.parametrize(
    ("cseq", "status", "pending", "outcome"),
    [(0, 200, 3, "success"), (3, 200, 3, "success"), (4, 200, 3, "ignore"), (3, 180, 3, "ignore"),
     (3, 202, 3, "fail"), (0, 603, 3, "fail")],
)
def test_outcome(cseq: int, status: int, pending: int, outcome: str) -> None:
    assert notify_outcome(NotifyResult("REFER", cseq, status, ""), pending) == outcome
