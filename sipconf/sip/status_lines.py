"""SIP status lines (RFC 3261 7.2): the one table of status codes and reason phrases.

Two parts, kept apart on purpose:

- `RFC3261_PHRASES`: the default reason phrase of every status code RFC 3261 section 21
  defines, for responses where nobody mandates another text.
- LiveKit's status lines: what LiveKit's SIP service answers an INVITE with. Several
  phrases are LiveKit's own ("Try again later", "Processing", "Rejected"); they are copied
  exactly, since callers and the conformance vectors see them on the wire.

Routing (`sipconf.routing.route`) puts these lines into its outcomes, the bridge sends
them, and `sipconf explain` and the simulator report them.
"""

from __future__ import annotations

from typing import NamedTuple


class StatusLine(NamedTuple):
    """A status code and its reason phrase ("" where the sender leaves it empty)."""

    code: int
    reason: str

    def __str__(self) -> str:
        return f"{self.code} {self.reason}".rstrip()


# RFC 3261 section 21, plus 202 Accepted (RFC 3265), which REFER (RFC 3515) uses.
RFC3261_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def default_phrase(code: int) -> str:
    """RFC 3261's reason phrase for `code`, or "" for a code it does not define."""
    return RFC3261_PHRASES.get(code, "")


def rfc3261(code: int) -> StatusLine:
    """The status line for `code` with RFC 3261's default phrase."""
    return StatusLine(code, default_phrase(code))


# ---- LiveKit's SIP service answering an INVITE ------------------------------------------
# livekit/sip pkg/sip/inbound.go:processInvite (auth step), :handleInviteAuth (digest),
# :handleInvite (dispatch and answer). In the order a call meets them.

PROCESSING = StatusLine(100, "Processing")  # first, unless the inbound port is hidden
# The decision layer's auth answer (or its failure) ends the call:
TRY_AGAIN = StatusLine(503, "Try again later")  # the decision layer failed: an RPC error
NO_TRUNK_MATCHED = StatusLine(404, "Does not match any SIP Trunks")  # AuthNotFound
QUOTA_EXCEEDED = StatusLine(503, "Service temporarily unavailable")  # AuthQuotaExceeded
NO_TRUNK_FOUND = StatusLine(404, "No trunk found")  # AuthNoTrunkFound
# AuthPassword: the digest handshake (RFC 2617 with LiveKit's phrases).
PROXY_CHALLENGE = StatusLine(407, "Unauthorized")  # no Proxy-Authorization yet
BAD_CREDENTIALS = StatusLine(401, "Bad credentials")  # unparseable, or no challenge remembered
WRONG_CREDENTIALS = StatusLine(401, "Unauthorized")  # wrong username or digest response
# After the auth step: ringing, then the dispatch answer.
RINGING = StatusLine(180, "Ringing")  # repeated until the INVITE has its final response
NO_RULE_MATCHED = StatusLine(404, "Does not match Trunks or Dispatch Rules")  # DispatchNoRuleReject
UNEXPECTED_RESULT = StatusLine(501, "")  # a dispatch result the service does not know
# Accepted calls (DispatchAccept, DispatchRequestPin): media first, then the answer.
BAD_SDP = StatusLine(400, "")  # the offer does not parse or has nothing in common
MEDIA_FAILED = StatusLine(500, "")  # any other media failure
ANSWERED = StatusLine(200, "OK")  # the PIN flow answers at once, before the PIN
REJECTED = StatusLine(486, "Rejected")  # any close before the answer (ringing timeout, hang-up)
TERMINATED = rfc3261(487)  # the caller's CANCEL arrived before the answer
# Requests inside a dialog LiveKit does not know (BYE, NOTIFY).
CALL_DOES_NOT_EXIST = StatusLine(481, "Call does not exist")

# ---- sipconf's own, where LiveKit has no equivalent -------------------------------------

SHUTTING_DOWN = rfc3261(503)  # RFC 3261 21.5.4: the bridge stops; the caller may retry elsewhere
INTERNAL_ERROR = rfc3261(500)  # the bridge's own call handling failed
OFFER_NOT_ACCEPTABLE = rfc3261(488)  # RFC 3261 14.2: a re-INVITE's offer it cannot take; the session stays
