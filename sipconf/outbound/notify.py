"""NOTIFY for a REFER (RFC 3515 / RFC 3420 sipfrag), as LiveKit's SIP service handles it.

docs/livekit.md#notify: `handle_notify` checks the event and parses the sipfrag status line;
`notify_answer` is the response LiveKit sends back; `notify_outcome` says what the
NOTIFY does to a pending transfer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from sipconf.routing import errors
from sipconf.routing.errors import LiveKitError
from sipconf.sip.gostr import parse_decimal
from sipconf.outbound.sipstatus import sip_status_for_psrpc

# `refer` or `refer;id=<ASCII digits>`, no spaces (matched on the lower-cased value).
_REFER_EVENT = re.compile(r"refer(?:;id=([0-9]+))?", re.ASCII)
_UINT32_MAX = (1 << 32) - 1


@dataclass(frozen=True)
class NotifyResult:
    method: str  # the request the NOTIFY reports on: always REFER
    cseq: int  # the REFER's CSeq from `Event: refer;id=N`, 0 without id
    status: int
    reason: str


def _header(headers: Mapping[str, str] | list[tuple[str, str]], *names: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = {n.lower() for n in names}
    for key, value in items:
        if key.lower() in wanted:
            return value
    return None


def handle_notify(headers: Mapping[str, str] | list[tuple[str, str]], body: str) -> NotifyResult:
    """Validate a NOTIFY's event and parse its sipfrag body (docs/livekit.md#notify).

    Raises LiveKitError with the psrpc code LiveKit uses (malformed_request,
    unimplemented, invalid_argument).
    """
    event = _header(headers, "Event", "o")  # `o` is the compact form (RFC 6665 8.2.1)
    if event is None:
        raise LiveKitError(errors.MALFORMED_REQUEST, "no event in NOTIFY request")
    m = _REFER_EVENT.fullmatch(event.lower())
    if m is None:
        raise LiveKitError(errors.UNIMPLEMENTED, "unknown event")
    cseq = 0
    if m.group(1) is not None:
        cseq = int(m.group(1))
        if cseq > _UINT32_MAX:
            raise LiveKitError(errors.INVALID_ARGUMENT, f"invalid event id: {m.group(1)}")
    status, reason = _parse_sipfrag(body)
    return NotifyResult("REFER", cseq, status, reason)


def _parse_sipfrag(body: str) -> tuple[int, str]:
    # Split on the first two spaces only (Go `strings.SplitN(body, " ", 3)`), so a status
    # line `SIP/2.0 200\r\n` leaves `200\r\n` as the code and fails.
    tokens = body.split(" ", 2)
    if len(tokens) < 2:
        raise LiveKitError(errors.INVALID_ARGUMENT, "invalid notify body: not enough tokens")
    if tokens[0].upper() != "SIP/2.0":
        raise LiveKitError(errors.INVALID_ARGUMENT, "invalid notify body: wrong prefix or SIP version")
    try:
        status = parse_decimal(tokens[1])
    except ValueError:
        raise LiveKitError(errors.INVALID_ARGUMENT, f"invalid notify body: invalid status code {tokens[1]!r}") from None
    reason = ""
    if len(tokens) == 3:
        reason = tokens[2].split("\n", 1)[0].removesuffix("\r")
    return status, reason


def notify_answer(err: BaseException | None) -> tuple[int, str]:
    """The (status, reason) LiveKit answers a NOTIFY with after handling it
    (docs/livekit.md#notify)."""
    if err is None:
        return 200, "success"
    code = err.code if isinstance(err, LiveKitError) else ""
    return sip_status_for_psrpc(code), str(err)


def notify_outcome(result: NotifyResult, pending_refer_cseq: int) -> str:
    """What a parsed NOTIFY does to the pending transfer (docs/livekit.md#notify).

    `ignore` (another REFER's NOTIFY, or a 1xx), `success` (exactly 200) or `fail`
    (anything else, 202 included).
    """
    if result.cseq != 0 and result.cseq != pending_refer_cseq:
        return "ignore"
    if 100 <= result.status < 200:
        return "ignore"
    return "success" if result.status == 200 else "fail"
