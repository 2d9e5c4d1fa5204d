"""SIPp's `-trace_msg` log -> the call's messages (for the ladder, the pcap and the verdict).

The log is a series of blocks:

    ----------------------------------------------- 2026-11-25 13:29:24.903001
    UDP message sent (503 bytes):
    <blank line>
    <the message, LF line ends>

and `UDP message received [301] bytes :` for the other direction. SIPp prints no peer
address, so the caller says which two endpoints the log is between.
"""

from __future__ import annotations

import re
from datetime import datetime

from sipconf.sip.message import Request, Response, parse
from simulator.result import Packet

_HEAD = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$", re.M)
_CONTENT_LENGTH = re.compile(r"^(?:Content-Length|l)\s*:\s*(\d+)", re.M | re.I)
_DIR = re.compile(r"^(UDP|TCP) message (sent|received)")


def parse_trace(text: str, local: tuple[str, int], remote: tuple[str, int]) -> list[Packet]:
    heads = list(_HEAD.finditer(text))
    out: list[Packet] = []
    start: datetime | None = None
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        block = text[head.end():end].lstrip("\n")
        first, _, rest = block.partition("\n")
        m = _DIR.match(first)
        if m is None:
            continue
        when = datetime.strptime(head.group(1), "%Y-%m-%d %H:%M:%S.%f")
        start = start or when
        body = rest.lstrip("\n").rstrip("\n")
        head_part, sep, payload = body.partition("\n\n")
        content = payload.replace("\n", "\r\n").encode() if sep else b""
        # SIPp sends CRLF but logs LF, and the log's block separator eats the body's last
        # line end: restore the body to its declared Content-Length.
        declared = _CONTENT_LENGTH.search(head_part)
        if declared is not None:
            want = int(declared.group(1))
            content = (content + b"\r\n" * want)[:want] if len(content) < want else content[:want]
        data = head_part.replace("\n", "\r\n").encode() + b"\r\n\r\n" + content
        src, dst = (local, remote) if m.group(2) == "sent" else (remote, local)
        out.append(Packet((when - start).total_seconds(), src, dst, data, m.group(1).lower()))
    return out


def messages(packets: list[Packet]) -> list[tuple[Packet, Request | Response]]:
    out = []
    for p in packets:
        try:
            out.append((p, parse(p.data)))
        except ValueError:
            continue
    return out


def final_invite_response(packets: list[Packet], local: tuple[str, int]) -> Response | None:
    """The last final response to an INVITE that we received (after a digest retry, the
    second INVITE's)."""
    final = None
    for p, msg in messages(packets):
        if isinstance(msg, Response) and p.dst == local and msg.status >= 200 and (msg.get("cseq") or "").endswith("INVITE"):
            final = msg
    return final


def received_invite(packets: list[Packet], local: tuple[str, int]) -> Request | None:
    """The last INVITE the far end received (the authenticated one after a challenge)."""
    got = None
    for p, msg in messages(packets):
        if isinstance(msg, Request) and msg.method == "INVITE" and p.dst == local:
            got = msg
    return got


def received_request(packets: list[Packet], local: tuple[str, int], method: str) -> Request | None:
    for p, msg in messages(packets):
        if isinstance(msg, Request) and msg.method == method and p.dst == local:
            return msg
    return None


def response_to(packets: list[Packet], method: str, received_by: tuple[str, int]) -> Response | None:
    for p, msg in messages(packets):
        if isinstance(msg, Response) and p.dst == received_by and (msg.get("cseq") or "").endswith(method):
            return msg
    return None
