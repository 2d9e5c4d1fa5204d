"""SIP dialogs (RFC 3261 12): identity, sequence numbers, remote target and route set,
and the requests built inside them (BYE, REFER, NOTIFY, ACK for 2xx).

A dialog is a plain value object; it never sends anything.  The caller adds the Via
(its transport knows the sent-by) through ``via`` and hands the request to a transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sipconf.routing.ids import random_bytes
from sipconf.sip.headers import NameAddr
from sipconf.sip.message import Request, Response
from sipconf.bridge.transaction import new_branch

__all__ = ["Dialog", "DialogError", "copy_record_route", "new_tag"]


class DialogError(ValueError):
    """An in-dialog request that RFC 3261 12.2.2 says to reject; ``status`` is the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def new_tag() -> str:
    """RFC 3261 19.3: at least 32 bits of randomness."""
    return random_bytes(6).hex()


def stateless_tag(branch: str) -> str:
    """The To tag of a response sent with no transaction (RFC 3261 8.2.7): the same request,
    retransmitted, must get the same tag, so it is a hash of the request's branch instead of
    random.  A 1xx-free final response still needs one (RFC 3261 8.2.6.2)."""
    return hashlib.blake2s(branch.encode("utf-8", "replace"), digest_size=6).hexdigest()


def copy_record_route(request: Request, response: Response) -> None:
    """RFC 3261 12.1.1: a UAS copies every Record-Route of a dialog-creating request into its
    18x and 2xx responses, in order and unchanged, so each proxy that asked to stay on the
    path (and the caller, which reverses them) learns the same route set.  Proxies rely on
    seeing exactly their own entries, so the lines are copied as they came, never re-split."""
    for value in request.get_all("record-route"):
        response.add("Record-Route", value)


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr  # our From in requests we send (without tag)
    remote_uri: NameAddr  # our To in requests we send (without tag)
    remote_target: str  # Contact URI of the peer: Request-URI of our requests
    route_set: list[str] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    local_contact: str | None = None

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @staticmethod
    def from_uas(invite: Request, response: Response, local_contact: str | None = None) -> Dialog:
        """RFC 3261 12.1.1: the UAS side, from the INVITE and our 2xx (or 1xx with tag)."""
        to = response.to
        if not to.tag:
            raise ValueError("response To has no tag")
        from_ = invite.from_
        contacts = invite.contacts
        if not contacts:
            raise ValueError("INVITE has no Contact")
        return Dialog(
            call_id=invite.call_id,
            local_tag=to.tag,
            remote_tag=from_.tag or "",
            local_uri=_without_tag(to),
            remote_uri=_without_tag(from_),
            remote_target=str(contacts[0].uri),
            # Record-Route in the request order is the UAS route set (12.1.1).
            route_set=invite.values("record-route"),
            local_seq=0,
            remote_seq=invite.cseq.seq,
            local_contact=local_contact,
        )

    @staticmethod
    def from_uac(invite: Request, response: Response) -> Dialog:
        """RFC 3261 12.1.2: the UAC side, from our INVITE and the peer's 2xx (or 1xx)."""
        to = response.to
        contacts = response.contacts
        if not contacts:
            raise ValueError("response has no Contact")
        return Dialog(
            call_id=invite.call_id,
            local_tag=invite.from_.tag or "",
            remote_tag=to.tag or "",
            local_uri=_without_tag(invite.from_),
            remote_uri=_without_tag(to),
            remote_target=str(contacts[0].uri),
            # Record-Route reversed is the UAC route set (12.1.2).
            route_set=list(reversed(response.values("record-route"))),
            local_seq=invite.cseq.seq,
            remote_seq=None,
            local_contact=invite.get("contact"),
        )

    def matches(self, message: Request | Response) -> bool:
        """Is this in-dialog request ours?  (Call-ID, our tag in To, their tag in From.)"""
        try:
            return (
                message.call_id == self.call_id
                and (message.to.tag or "") == self.local_tag
                and (message.from_.tag or "") == self.remote_tag
            )
        except ValueError:
            return False

    def receive_request(self, request: Request) -> None:
        """RFC 3261 12.2.2: check and record the remote CSeq; target refresh on re-INVITE."""
        seq = request.cseq.seq
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_seq is not None and seq < self.remote_seq:
                raise DialogError(500, "Server Internal Error")
            self.remote_seq = seq
        if request.method == "INVITE" and request.contacts:
            self.remote_target = str(request.contacts[0].uri)

    def create_request(
        self,
        method: str,
        via: str,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        cseq: int | None = None,
    ) -> Request:
        """RFC 3261 12.2.1.1: an in-dialog request (BYE, REFER, NOTIFY, re-INVITE, ...).

        ``via`` is ``"SIP/2.0/UDP host:port"``; a fresh branch is added.  CSeq increments
        by one unless given (ACK and CANCEL reuse the INVITE's number).
        """
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        uri, routes = self._target_and_routes()
        out: list[tuple[str, str]] = [
            ("Via", f"{via};branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", str(self.local_uri.with_tag(self.local_tag))),
            ("To", str(self.remote_uri.with_tag(self.remote_tag) if self.remote_tag else self.remote_uri)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        out += [("Route", r) for r in routes]
        if self.local_contact and method not in ("BYE", "ACK", "CANCEL"):
            out.append(("Contact", self.local_contact))
        out += headers or []
        request = Request(method=method, uri=uri, headers=out)
        if content_type is not None:
            request.add("Content-Type", content_type)
        request.add("Content-Length", str(len(body)))
        request.body = body
        return request

    def create_ack(self, invite_cseq: int, via: str, body: bytes = b"", content_type: str | None = None) -> Request:
        """RFC 3261 13.2.2.4: ACK for a 2xx is an in-dialog request with the INVITE's CSeq
        number and its own branch (it is a separate transaction)."""
        return self.create_request("ACK", via, body=body, content_type=content_type, cseq=invite_cseq)

    @property
    def next_hop(self) -> str:
        """The URI our in-dialog requests are sent to: the first route when there is a route
        set, else the remote target (RFC 3261 12.2.1.1, 8.1.2).  Both come from the peer's
        messages, so the sender checks the address before use; text that is no name-addr is
        returned as it is, for that check to refuse."""
        if not self.route_set:
            return self.remote_target
        try:
            return str(NameAddr.parse(self.route_set[0]).uri)
        except ValueError:
            return self.route_set[0]

    def _target_and_routes(self) -> tuple[str, list[str]]:
        # RFC 3261 12.2.1.1: loose routing when the first route has ;lr, else strict.
        if not self.route_set:
            return self.remote_target, []
        first = NameAddr.parse(self.route_set[0])
        if first.uri.param("lr") is not None:
            return self.remote_target, list(self.route_set)
        return str(first.uri), [*self.route_set[1:], f"<{self.remote_target}>"]


def _without_tag(addr: NameAddr) -> NameAddr:
    return NameAddr(
        uri=addr.uri,
        display=addr.display,
        params=[(k, v) for k, v in addr.params if k.lower() != "tag"],
        bracketed=True,
    )
