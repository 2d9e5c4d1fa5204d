"""The messages the agent sends, built from `sipconf.sip`'s dataclasses: requests, responses,
the two kinds of ACK, CANCEL, in-dialog requests, NOTIFY sipfrag bodies, and the deliberately
broken INVITEs of the malformed-message scenarios.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sipconf.sip.message import Request, Response, make_response

__all__ = ["Dialog", "ack_for_failure", "answers", "cancel_for", "malform", "new_branch", "new_tag", "reason_for",
           "response", "sipfrag"]

# RFC 3261 21 (and RFC 3515 for 202): the reason phrases the agent answers with.
REASONS = {100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 202: "Accepted",
           400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           407: "Proxy Authentication Required", 408: "Request Timeout", 480: "Temporarily Unavailable",
           481: "Call/Transaction Does Not Exist", 486: "Busy Here", 487: "Request Terminated",
           488: "Not Acceptable Here", 500: "Server Internal Error", 503: "Service Unavailable",
           603: "Decline"}


def reason_for(status: int) -> str:
    return REASONS.get(status, "Status")


def new_branch() -> str:
    """RFC 3261 8.1.1.7: the magic cookie, then enough randomness to be unique."""
    return f"z9hG4bK{secrets.token_hex(8)}"


def new_tag() -> str:
    """RFC 3261 19.3: at least 32 bits of randomness."""
    return secrets.token_hex(6)


def response(request: Request, status: int, reason: str | None = None, *, tag: str | None = None,
             headers: list[tuple[str, str]] | None = None, body: bytes = b"",
             content_type: str = "application/sdp") -> Response:
    """A response copying the request's Via, From, To, Call-ID and CSeq (RFC 3261 8.2.6.2);
    `tag` goes on To unless the status is 100, which never creates a dialog."""
    out = make_response(request, status, reason if reason is not None else reason_for(status),
                        to_tag=tag if status > 100 else None)
    for name, value in headers or ():
        out.add(name, value)
    if body:
        out.set_body(body, content_type)
    return out


def ack_for_failure(invite: Request, final: Response) -> Request:
    """RFC 3261 17.1.1.3: the ACK of a non-2xx final belongs to the INVITE's transaction:
    same Request-URI, top Via (branch included), From, Call-ID and CSeq number; the
    response's To (its tag)."""
    return Request(method="ACK", uri=invite.uri, headers=[
        ("Via", invite.get("via") or ""),
        ("Max-Forwards", "70"),
        ("From", invite.get("from") or ""),
        ("To", final.get("to") or ""),
        ("Call-ID", invite.get("call-id") or ""),
        ("CSeq", f"{invite.cseq.seq} ACK"),
        ("Content-Length", "0"),
    ])


def cancel_for(invite: Request) -> Request:
    """RFC 3261 9.1: CANCEL repeats the INVITE's Request-URI, top Via, From, To, Call-ID
    and CSeq number, so the peer can match it to the pending INVITE."""
    return Request(method="CANCEL", uri=invite.uri, headers=[
        ("Via", invite.get("via") or ""),
        ("Max-Forwards", "70"),
        ("From", invite.get("from") or ""),
        ("To", invite.get("to") or ""),
        ("Call-ID", invite.get("call-id") or ""),
        ("CSeq", f"{invite.cseq.seq} CANCEL"),
        ("Content-Length", "0"),
    ])


def sipfrag(status: int) -> bytes:
    """RFC 3515 2.4.5: a NOTIFY reports the referred call as a message/sipfrag status line."""
    return f"SIP/2.0 {status} {reason_for(status)}\r\n".encode()


def answers(request: Request, response: Response) -> bool:
    """Is `response` one to `request`? Its top Via branch and CSeq method say so (RFC 3261
    17.1.3); a response without a parseable Via (to a broken request) is matched by Call-ID."""
    try:
        if response.cseq.method != request.method:
            return False
    except ValueError:
        pass
    try:
        branch = response.top_via.branch
    except ValueError:
        branch = None
    if branch:
        return branch == request.top_via.branch
    return response.get("call-id") is not None and response.get("call-id") == request.get("call-id")


@dataclass
class Dialog:
    """One dialog as the agent keeps it (RFC 3261 12): enough to build requests inside it.

    The agent talks to its peer directly, so no proxy ever records a route: there is no
    route set, and in-dialog requests go to the address the dialog was set up with.
    """

    call_id: str
    local: str  # our From value in requests we send, tag included
    remote: str  # our To value, tag included
    remote_target: str  # the peer's Contact URI: the Request-URI of our requests
    local_contact: str
    cseq: int

    @classmethod
    def as_caller(cls, invite: Request, final: Response) -> Dialog:
        """RFC 3261 12.1.2: from our INVITE and the peer's 2xx."""
        contacts = final.contacts
        return cls(call_id=invite.call_id, local=invite.get("from") or "", remote=final.get("to") or "",
                   remote_target=str(contacts[0].uri) if contacts else invite.uri,
                   local_contact=invite.get("contact") or "", cseq=invite.cseq.seq)

    @classmethod
    def as_callee(cls, invite: Request, answer: Response) -> Dialog:
        """RFC 3261 12.1.1: from the peer's INVITE and our 2xx; their From is our To."""
        contacts = invite.contacts
        return cls(call_id=invite.call_id, local=answer.get("to") or "", remote=invite.get("from") or "",
                   remote_target=str(contacts[0].uri) if contacts else f"sip:{invite.from_.uri.host}",
                   local_contact=answer.get("contact") or "", cseq=0)

    def request(self, method: str, via: str, headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                content_type: str | None = None, cseq: int | None = None) -> Request:
        """RFC 3261 12.2.1.1: a request inside the dialog, with a fresh branch on `via`
        ("SIP/2.0/UDP host:port"). CSeq goes up by one, unless given (the ACK of a 2xx
        reuses the INVITE's number, RFC 3261 13.2.2.4)."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        out = Request(method=method, uri=self.remote_target, headers=[
            ("Via", f"{via};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", self.local),
            ("To", self.remote),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ])
        if self.local_contact and method not in ("ACK", "BYE", "CANCEL"):
            out.add("Contact", self.local_contact)
        for name, value in headers or ():
            out.add(name, value)
        out.set_body(body, content_type)
        return out


def malform(data: bytes, kind: str) -> bytes:
    """Break a message on purpose (RFC 4475-style edge cases):

    - `bad-content-length`: Content-Length larger than the body (RFC 3261 18.3: UDP
      messages with a short body are rejected with 400);
    - `missing-call-id`: no Call-ID (the peer answers 400 by the Via and CSeq);
    - `bad-start-line`: a request line without its SIP version.
    """
    head, separator, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if kind == "bad-content-length":
        lines = [(b"Content-Length: %d" % (len(body) + 100)) if line.lower().startswith(b"content-length:") else line
                 for line in lines]
    elif kind == "missing-call-id":
        lines = [line for line in lines if not line.lower().startswith((b"call-id:", b"i:"))]
    elif kind == "bad-start-line":
        lines[0] = lines[0].rsplit(b" ", 1)[0]
    else:
        raise ValueError(f"unknown malformation {kind!r}")
    return b"\r\n".join(lines) + separator + body
