"""Shedding at the door: a stale new INVITE answered 503 from its raw bytes, and its ACK dropped.

Past saturation, most INVITEs read are refused (`sipconf.bridge.admission`: they waited too
long in the socket's queue). If refusing one cost half of what a call costs, the refusals
alone would eat the bridge and goodput would still collapse; so a refusal has to cost a few
percent of a call. `Doorman` answers from the datagram itself, before it is parsed into a
message: the header block is split in C (`sipconf.sip.message`), only the top Via is parsed
(for the response's address and the transaction check), and the 503 copies the lines RFC 3261
8.2.6.2 names, with a To tag hashed from the branch. It is stateless (RFC 3261 8.2.7): no transaction is created, and the branch
is remembered so that the caller's ACK for the 503 is dropped unparsed and a retransmission
of the INVITE gets the same answer, however fast it is read.

Anything not plain (folded or odd lines, a To tag, an RFC 2543 branch, an INVITE a live
transaction already has) is left to the full path, which refuses a stale INVITE the same way
once parsed (`Bridge._shed_stale`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Callable

from sipconf.bridge.admission import Admission, Refusal
from sipconf.bridge.dialog import stateless_tag
from sipconf.bridge.transport import Source, response_address, stamp_via
from sipconf.sip.message import Response, plain_headers, top_via_of

__all__ = ["Doorman", "REMEMBERED"]

REMEMBERED = 4096  # branches of refused INVITEs kept for their ACK and retransmissions
MAGIC_COOKIE = "z9hG4bK"
_BRANCH = re.compile(rb"\r\n(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch[ \t]*=[ \t]*([^;,\s]+)", re.IGNORECASE)
_COPIED = {"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}
_SINGLE = ("from", "to", "call-id", "cseq")


class Doorman:
    """`doorman.screen(data, source)` -> True when it answered (or dropped) the datagram."""

    def __init__(self, admission: Admission, live_invite: Callable[[str, str], bool],
                 refused: Callable[[], None]) -> None:
        self.admission = admission
        self.live_invite = live_invite  # (branch, sent-by) -> a server transaction has that INVITE
        self.refused = refused  # told of every 503 sent here (metrics, the overload log line)
        self.branches: OrderedDict[str, None] = OrderedDict()  # refused INVITEs' branches, oldest first

    def screen(self, data: bytes, source: Source) -> bool:
        self.admission.observe(source.queued)
        if data.startswith(b"ACK "):
            return bool(self.branches) and self._top_branch(data) in self.branches
        if not data.startswith(b"INVITE "):
            return False
        again = bool(self.branches) and self._top_branch(data) in self.branches
        if not again and not self.admission.stale(source.queued):
            return False
        return self._refuse(data, source, counted=not again)

    def remember(self, branch: str) -> None:
        """`branch` was refused statelessly: its ACK is dropped, a retransmission refused again."""
        if branch and branch not in self.branches:
            if len(self.branches) >= REMEMBERED:
                self.branches.popitem(last=False)
            self.branches[branch] = None

    @staticmethod
    def _top_branch(data: bytes) -> str | None:
        found = _BRANCH.search(data, 0, data.find(b"\r\n\r\n"))
        return found.group(1).decode("ascii", "replace") if found else None

    def _refuse(self, data: bytes, source: Source, counted: bool) -> bool:
        end = data.find(b"\r\n\r\n")
        try:
            text = data[:end].decode("utf-8")
        except UnicodeDecodeError:
            return False
        start, _, block = text.partition("\r\n")
        plain = plain_headers(block) if end > 0 else None
        if plain is None or len(start.split(" ")) != 3 or not start.endswith(" SIP/2.0"):
            return False
        headers, index, _length = plain
        if any(len(index.get(key, ())) != 1 for key in _SINGLE) or "via" not in index:
            return False
        to = headers[index["to"][0]][1]
        if ";tag=" in to.replace(" ", "").lower():
            return False  # in a dialog: a re-INVITE is the full path's
        try:
            via = top_via_of(headers[index["via"][0]][1])
        except ValueError:
            return False
        branch = via.branch or ""
        if not branch.startswith(MAGIC_COOKIE) or len(branch) == len(MAGIC_COOKIE):
            return False  # RFC 2543 matching is the transaction layer's
        if self.live_invite(branch, via.sent_by.lower()):
            return False  # a retransmission of an INVITE being handled
        copied = [(position, key) for key in _COPIED for position in index.get(key, ())]
        copied.sort()
        tag = f";tag={stateless_tag(branch)}"  # RFC 3261 8.2.6.2, 8.2.7
        lines = [(_COPIED[key], headers[position][1] + (tag if key == "to" else "")) for position, key in copied]
        refusal = (self.admission.refuse("queue_age") if counted
                   else Refusal("queue_age", retry_after=self.admission.limits.retry_after))
        lines += refusal.headers
        stamped = stamp_via(lines, source.addr, via)  # RFC 3261 18.2.1, as for any request
        source.reply_to = response_address(stamped if stamped is not None else via)
        source.send(Response(headers=lines, status=refusal.status, reason=refusal.reason))
        self.remember(branch)
        if counted:
            self.refused()
        return True
