"""A caller for tests that drive `sipconf up` from outside: SIP requests written as text over a
UDP socket on 127.0.0.1, responses read back. It depends on nothing in sipconf, so it checks
the bridge the way any phone would."""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass, field

WAIT = 10.0  # seconds to wait for one datagram before the test fails (a bound, not a timing)


@dataclass
class Reply:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> first value

    @classmethod
    def parse(cls, data: bytes) -> "Reply":
        head = data.decode("utf-8", "replace").split("\r\n\r\n", 1)[0].split("\r\n")
        _version, status, reason = (head[0].split(" ", 2) + [""])[:3]
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        return cls(int(status), reason, headers)


class Caller:
    """One SIP caller; `with Caller(target) as caller:` closes its sockets."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(WAIT)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # where the bridge's audio goes
        self.rtp.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> "Caller":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        self.rtp.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def request(self, method: str, to_user: str, call_id: str, from_tag: str, cseq: int, *,
                to_tag: str = "", headers: tuple[tuple[str, str], ...] = (), sdp: bool = False) -> None:
        host = f"{self.target[0]}:{self.target[1]}"
        body = self._offer() if sdp else b""
        lines = [
            f"{method} sip:{to_user}@{host} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(8)};rport",
            "Max-Forwards: 70",
            f"From: <sip:+15550111@127.0.0.1>;tag={from_tag}",
            f"To: <sip:{to_user}@{host}>" + (f";tag={to_tag}" if to_tag else ""),
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:caller@127.0.0.1:{self.port}>",
            *(f"{name}: {value}" for name, value in headers),
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def final(self, call_id: str, method: str) -> Reply:
        """The next final response to `method` in `call_id` (provisional ones are skipped)."""
        while True:
            reply = self.receive()
            if reply.status >= 200 and reply.headers.get("call-id") == call_id and reply.headers.get("cseq", "").endswith(method):
                return reply

    def receive_request(self) -> bytes:
        """The next request sent to this socket (as the far end of an outbound call)."""
        while True:
            data, _ = self.sock.recvfrom(65536)
            if not data.startswith(b"SIP/2.0 "):
                return data

    def answer(self, request: bytes, status: int, reason: str) -> None:
        """A response to `request` (RFC 3261 8.2.6.2: its Via, From, To + our tag, Call-ID, CSeq)."""
        head = request.decode("utf-8", "replace").split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        copied = [line for line in head if line.split(":", 1)[0].strip().lower() in ("via", "v", "from", "f", "call-id", "i", "cseq")]
        to = next(line for line in head if line.split(":", 1)[0].strip().lower() in ("to", "t"))
        lines = [f"SIP/2.0 {status} {reason}", *copied, f"{to};tag={secrets.token_hex(4)}", "Content-Length: 0"]
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())

    def receive(self) -> Reply:
        while True:
            data, _ = self.sock.recvfrom(65536)
            if data.startswith(b"SIP/2.0 "):
                return Reply.parse(data)

    def _offer(self) -> bytes:
        rtp_port = self.rtp.getsockname()[1]
        return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                f"m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
                "a=rtpmap:101 telephone-event/8000\r\n").encode()


def new_call_id() -> tuple[str, str]:
    """(Call-ID, From tag) of a new call."""
    return secrets.token_hex(8), secrets.token_hex(4)


def tag_of(header: str) -> str:
    """The `tag` parameter of a From/To header value."""
    for param in header.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "tag":
            return value.strip()
    return ""
