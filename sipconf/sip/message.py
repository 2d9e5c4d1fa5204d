"""SIP messages (RFC 3261 section 7): pure dataclasses with ``parse()`` and ``bytes()``.

We use our own parser rather than the PyPI ``sipmessage`` package because we need
(a) exact, stable ``ValueError`` text for every malformed input (``sipmessage`` leaks
Python's own unpacking / int() / UnicodeDecodeError text), (b) byte-exact round trips
(``sipmessage`` expands compact header names and regroups repeated headers, so
``bytes(parse(x)) != x``), and (c) speed: headers are split once and the structured
views (Via, CSeq, name-addr) are parsed only when asked for.

Headers are kept as an ordered list of ``(name-as-written, value)`` pairs; lookups are
case-insensitive and understand the compact forms of RFC 3261 section 7.3.3.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from sipconf.sip.headers import CSeq, NameAddr, Via, split_commas
from sipconf.sip.uri import URI

__all__ = [
    "COMPACT_FORMS",
    "MAX_HEADERS",
    "Message",
    "Request",
    "Response",
    "UnsupportedVersion",
    "canonical_name",
    "parse",
    "plain_headers",
    "top_via_of",
]

# RFC 3261 7.3.3 compact forms, plus those of RFC 3515 (r), RFC 6665 (o, u).
COMPACT_FORMS: dict[str, str] = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "u": "allow-events",
}

MAX_HEADERS = 128
SIP_VERSION = "SIP/2.0"


class UnsupportedVersion(ValueError):
    """A well-formed start line with a SIP version other than 2.0: a request gets 505
    Version Not Supported rather than 400 (RFC 3261 8.2.6, 21.5.6; RFC 4475 3.1.2.16)."""


_CANONICAL_CACHE: dict[str, str] = {}
_VALID_NAMES: dict[str, str] = {}  # header names seen to be tokens -> their canonical names


def canonical_name(name: str) -> str:
    """Lower-cased long form of a header name: ``"I"`` and ``"Call-ID"`` -> ``"call-id"``."""
    key = _CANONICAL_CACHE.get(name)
    if key is None:
        low = name.lower()
        key = COMPACT_FORMS.get(low, low)
        if len(_CANONICAL_CACHE) < 4096:  # bounded: hostile peers invent header names
            _CANONICAL_CACHE[name] = key
    return key


@dataclass
class Message:
    """Fields shared by requests and responses: ordered headers and a body."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    # -- generic header access (case-insensitive, compact-form aware) --------------
    # The hot path asks a message for a few dozen headers: they are indexed by canonical
    # name once, and the index is used while `headers` still holds the same lines (a list
    # comparison: identical lines compare by identity, in C), so add/set/remove or editing
    # `headers` directly is always seen.
    def _positions(self) -> dict[str, list[int]]:
        headers = self.headers
        cached = self.__dict__.get("_index")
        if cached is not None and cached[0] == headers:
            return cached[1]
        cache = _CANONICAL_CACHE
        index: dict[str, list[int]] = {}
        for position, (n, _v) in enumerate(headers):
            key = cache.get(n) or canonical_name(n)
            found = index.get(key)
            if found is None:
                index[key] = [position]
            else:
                found.append(position)
        self.__dict__["_index"] = (list(headers), index)
        return index

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self._positions().get(_CANONICAL_CACHE.get(name) or canonical_name(name))
        return self.headers[found[0]][1] if found else default

    def get_all(self, name: str) -> list[str]:
        found = self._positions().get(_CANONICAL_CACHE.get(name) or canonical_name(name))
        headers = self.headers
        return [headers[position][1] for position in found] if found else []

    def values(self, name: str) -> list[str]:
        """All comma-separated values of a header across all its lines (RFC 3261 7.3.1)."""
        out: list[str] = []
        for v in self.get_all(name):
            out.extend(split_commas(v))
        return out

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def add(self, name: str, value: str) -> None:
        self.headers.append((name, value))

    def remove(self, name: str) -> None:
        key = canonical_name(name)
        self.headers = [(n, v) for n, v in self.headers if canonical_name(n) != key]

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` by one, at the position of the first."""
        key = canonical_name(name)
        out: list[tuple[str, str]] = []
        done = False
        for n, v in self.headers:
            if canonical_name(n) == key:
                if not done:
                    out.append((name, value))
                    done = True
            else:
                out.append((n, v))
        if not done:
            out.append((name, value))
        self.headers = out

    def set_body(self, body: bytes, content_type: str | None = None) -> None:
        """Set the body and keep Content-Length (and optionally Content-Type) in step."""
        self.body = body
        if content_type is not None:
            self.set("Content-Type", content_type)
        self.set("Content-Length", str(len(body)))

    # -- typed views --------------------------------------------------------------
    # Parsed lazily, once per header value: the hot path asks for To, From, CSeq and the
    # top Via many times per message.  A view is reused only while its header line is the
    # very same string, so add/set/remove (or editing `headers`) is always seen.
    def _view(self, key: str, label: str, parser):
        value = self.get(key)
        if value is None:
            raise ValueError(f"missing {label} header")
        views = self.__dict__.get("_views")
        if views is None:
            views = self.__dict__["_views"] = {}
        hit = views.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        parsed = parser(value)
        views[key] = (value, parsed)
        return parsed

    @property
    def call_id(self) -> str:
        value = self.get("call-id")
        if value is None:
            raise ValueError("missing Call-ID header")
        return value

    @property
    def cseq(self) -> CSeq:
        return self._view("cseq", "CSeq", CSeq.parse)

    @property
    def from_(self) -> NameAddr:
        return self._view("from", "From", _shared_name_addr)

    @property
    def to(self) -> NameAddr:
        return self._view("to", "To", _shared_name_addr)

    @property
    def top_via(self) -> Via:
        return self._view("via", "Via", top_via_of)

    @property
    def contacts(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.values("contact") if v.strip() != "*"]

    def _head_lines(self) -> list[str]:
        lines = [f"{n}: {v}" for n, v in self.headers]
        cache = _CANONICAL_CACHE
        if not any((cache.get(n) or canonical_name(n)) == "content-length" for n, _ in self.headers):
            # RFC 3261 20.14: mandatory over stream transports; always harmless.
            lines.append(f"Content-Length: {len(self.body)}")
        return lines


@dataclass
class Request(Message):
    """A SIP request (RFC 3261 7.1)."""

    method: str = "INVITE"
    uri: str = ""

    @property
    def request_uri(self) -> URI:
        return URI.parse(self.uri)

    def __bytes__(self) -> bytes:
        start = f"{self.method} {self.uri} {SIP_VERSION}"
        head = "\r\n".join([start, *self._head_lines()])
        return head.encode() + b"\r\n\r\n" + self.body

    @staticmethod
    def parse(data: bytes) -> Request:
        msg = parse(data)
        if not isinstance(msg, Request):
            raise ValueError("expected a request, got a response")
        return msg


@dataclass
class Response(Message):
    """A SIP response (RFC 3261 7.2)."""

    status: int = 200
    reason: str = "OK"

    def __bytes__(self) -> bytes:
        start = f"{SIP_VERSION} {self.status} {self.reason}"
        head = "\r\n".join([start, *self._head_lines()])
        return head.encode() + b"\r\n\r\n" + self.body

    @staticmethod
    def parse(data: bytes) -> Response:
        msg = parse(data)
        if not isinstance(msg, Response):
            raise ValueError("expected a response, got a request")
        return msg


_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")


# From / To header value -> its parsed view. An OrderedDict: the oldest goes first in O(1) (a
# dict's first key, after many deletions at its front, is found by scanning past them).
_NAME_ADDRS: OrderedDict[str, NameAddr] = OrderedDict()
_NAME_ADDRS_MAX = 8192


def _shared_name_addr(value: str) -> NameAddr:
    """A From or To value parsed once for every message of its dialog: the caller's From
    comes again in its ACK and BYE, our tagged To in them both. The views are read, never
    changed (a changed address is a new NameAddr, as ``with_tag`` makes), so one object can
    serve them all; the oldest entries go first once the table is full."""
    parsed = _NAME_ADDRS.get(value)
    if parsed is None:
        parsed = NameAddr.parse(value)
        if len(_NAME_ADDRS) >= _NAME_ADDRS_MAX:
            _NAME_ADDRS.popitem(last=False)
        _NAME_ADDRS[value] = parsed
    return parsed


def top_via_of(line: str) -> Via:
    """The first Via of a header line that may hold several (RFC 3261 7.3.1)."""
    values = split_commas(line) if "," in line else [line]
    return Via.parse(values[0] if values else line)  # an empty line: "invalid Via: ''"


def _parse_content_length(value: str) -> int:
    v = value.strip()
    if not v.isdigit() or not v.isascii():
        raise ValueError(f"invalid Content-Length: {value!r}")
    return int(v)


# RFC 3261 7.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+")
# RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")


def _check_version(version: str) -> None:
    if version != SIP_VERSION:
        if _VERSION_RE.fullmatch(version):
            raise UnsupportedVersion(f"unsupported SIP version: {version!r}")
        raise ValueError(f"invalid SIP version: {version!r}")


def _check_request_uri(uri: str) -> None:
    """A Request-URI is a bare absolute URI: no ``<>`` around it (RFC 4475 3.1.2.7), and a
    SIP URI in it carries no headers (RFC 3261 19.1.1 table: "not allowed" in the
    Request-URI; RFC 4475 3.1.2.11)."""
    scheme, colon, rest = uri.partition(":")
    if not colon or not rest or _SCHEME_RE.fullmatch(scheme) is None:
        raise ValueError(f"invalid Request-URI: {uri!r}")
    if scheme.lower() in ("sip", "sips") and "?" in rest.rpartition("@")[2]:
        raise ValueError(f"Request-URI must not carry headers: {uri!r}")


def _parse_start_line(line: str, headers: list[tuple[str, str]], body: bytes) -> Request | Response:
    # RFC 3261 7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    if line.startswith("SIP/"):
        parts = line.split(" ", 2)
        _check_version(parts[0])
        if len(parts) < 2 or len(parts[1]) != 3 or not parts[1].isdigit() or not parts[1].isascii():
            raise ValueError(f"invalid status line: {line!r}")
        status = int(parts[1])
        if status < 100:
            raise ValueError(f"invalid status code: {status}")
        return Response(headers=headers, body=body, status=status, reason=parts[2] if len(parts) > 2 else "")
    # RFC 3261 7.1: Request-Line = Method SP Request-URI SP SIP-Version
    parts = line.split(" ")
    if len(parts) != 3:
        raise ValueError(f"invalid request line: {line!r}")
    method, uri, version = parts
    if not method or not set(method) <= _TOKEN_CHARS:
        raise ValueError(f"invalid method: {method!r}")
    _check_version(version)
    _check_request_uri(uri)
    return Request(headers=headers, body=body, method=method, uri=uri)


def parse(data: bytes, max_headers: int = MAX_HEADERS) -> Request | Response:
    """Parse one SIP message; raise ``ValueError`` with a precise reason if malformed.

    RFC 3261 7.5: CRLFs before the start line are ignored.  RFC 3261 18.3: a body longer
    than Content-Length is truncated; a shorter one makes the message invalid.  Without
    Content-Length (datagrams only) the body is the rest of the datagram.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError("SIP message must be bytes")
    data = bytes(data).lstrip(b"\r\n")
    if not data:
        raise ValueError("empty message")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("message has no blank line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"header section is not UTF-8 (byte {exc.start})") from None
    lines = text.split("\r\n")
    headers, index, length_value = _header_fields(lines)
    if len(headers) > max_headers:
        raise ValueError(f"too many headers (more than {max_headers})")
    msg = _parse_start_line(lines[0], headers, b"")
    msg.__dict__["_index"] = (list(headers), index)
    if length_value is not None:
        length = _parse_content_length(length_value)
        if len(body) < length:
            raise ValueError(f"body is shorter than Content-Length ({len(body)} < {length})")
        body = body[:length]
    msg.body = body
    return msg


def _header_fields(lines: list[str], folding: bool = True,
                   ) -> tuple[list[tuple[str, str]], dict[str, list[int]], str | None]:
    """The header lines after the start line `lines[0]`, read as RFC 3261 7.3 writes them:
    (headers as written, the index of their positions by canonical name, the Content-Length
    value). ValueError says what is wrong and on which line; without `folding` a continuation
    line is an error too."""
    names = _VALID_NAMES
    headers: list[tuple[str, str]] = []
    index: dict[str, list[int]] = {}  # canonical name -> positions, as Message._positions builds it
    length_value = None
    for number in range(1, len(lines)):
        line = lines[number]
        if line and line[0] in " \t":
            # RFC 3261 7.3.1: header field folding (LWS continuation).
            if not folding:
                raise ValueError(f"line {number + 1}: folded header line")
            if not headers:
                raise ValueError(f"line {number + 1}: continuation line before any header")
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"line {number + 1}: header has no colon")
        name = name.rstrip(" \t")
        key = names.get(name)
        if key is None:
            if _TOKEN_RE.fullmatch(name) is None:
                raise ValueError(f"line {number + 1}: invalid header name {name!r}")
            key = canonical_name(name)
            if len(names) < 4096:  # bounded: hostile peers invent header names
                names[name] = key
        value = value.strip(" \t")
        found = index.get(key)
        if found is None:
            index[key] = [len(headers)]
        else:
            found.append(len(headers))
        headers.append((name, value))
        if key == "content-length":
            if length_value is not None:
                # Two lengths leave the body's end unknown (RFC 4475 3.3.9).
                raise ValueError("more than one Content-Length header")
            length_value = value
    return headers, index, length_value


def plain_headers(block: str) -> tuple[list[tuple[str, str]], dict[str, list[int]], str | None] | None:
    """The header lines of `block` (the lines after a start line) as `parse` reads them, when
    every one is a plain line: a token, optional blanks, a colon, a value on one line (no
    folding, no lone CR or LF, nothing odd). None otherwise: the stateless 503 leaves such a
    message to the full path."""
    breaks = block.count("\r\n")
    if block.count("\r") != breaks or block.count("\n") != breaks:
        return None  # a lone CR or LF inside a line
    try:
        return _header_fields(["", *block.split("\r\n")], folding=False)
    except ValueError:
        return None


def make_response(request: Request, status: int, reason: str, to_tag: str | None = None) -> Response:
    """Build a response per RFC 3261 8.2.6.2: copy Via (all, in order), From, To, Call-ID, CSeq.

    ``to_tag`` is added to To if the request's To has no tag yet.
    """
    headers: list[tuple[str, str]] = []
    index = request._positions()
    copied = [(position, key) for key in _COPIED for position in index.get(key, ())]
    if len(copied) > 1:
        copied.sort()  # in the request's order
    lines = request.headers
    for position, key in copied:
        value = lines[position][1]
        if key == "to":
            if to_tag is not None and ";tag=" not in value.replace(" ", "").lower():
                value = f"{value};tag={to_tag}"
        headers.append((_LONG_NAMES[key], value))
    if request.method == "INVITE" and status == 100:
        ts = request.get("timestamp")
        if ts is not None:
            headers.append(("Timestamp", ts))  # RFC 3261 8.2.6.1
    return Response(headers=headers, status=status, reason=reason)


_LONG_NAMES = {"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}
_COPIED = tuple(_LONG_NAMES)


def check_mandatory(message: Request | Response) -> None:
    """Raise ``ValueError`` unless the headers every transaction needs are present and
    well-formed: Via, From, To, Call-ID and CSeq (RFC 3261 8.1.1, 8.2), the last four and
    Max-Forwards at most once (RFC 3261 7.3.1: they are not comma-separated lists; RFC 4475
    3.3.8).  A request's CSeq method must equal its method (RFC 3261 8.1.1.5; CANCEL and
    ACK included).  A top Via without a branch is accepted: RFC 3261 17.2.3 matches such
    RFC 2543 requests by their other fields.  One pass over the headers: this runs for
    every message received."""
    index = message._positions()
    repeated = [(found[1], key) for key in _SINGLE if len(found := index.get(key, ())) > 1]
    if repeated:
        raise ValueError(f"more than one {_SINGLE[min(repeated)[1]]} header")  # the first repeat met
    for key, label in _MANDATORY.items():
        if key not in index:
            raise ValueError(f"missing {label} header")
    # The typed views parse the same first lines, and keep them for the handlers.
    message.top_via
    message.from_
    message.to
    cseq = message.cseq
    if isinstance(message, Request) and cseq.method != message.method:
        raise ValueError(f"CSeq method {cseq.method} does not match {message.method}")


_MANDATORY = {"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}
_SINGLE = {"from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq", "max-forwards": "Max-Forwards"}
