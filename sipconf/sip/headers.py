"""Structured SIP header values: name-addr (From/To/Contact/Route), Via, CSeq (RFC 3261 20).

Each is a dataclass with ``parse(text)`` (``ValueError`` with exact text) and ``str()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipconf.sip.uri import URI, format_params, parse_host_port, parse_params
from sipconf.sip.sipuri import find_param, join_host_port

__all__ = ["CSeq", "NameAddr", "Via", "split_commas"]


def split_commas(value: str) -> list[str]:
    """Split a header value on commas that are outside quotes and angle brackets (RFC 3261 7.3.1)."""
    if "," not in value:
        return [value.strip()] if value.strip() else []
    out: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(value[start:i].strip())
            start = i + 1
        i += 1
    out.append(value[start:].strip())
    return [v for v in out if v]


@dataclass
class NameAddr:
    """``"Display" <sip:uri>;tag=x`` or ``sip:uri;tag=x`` (RFC 3261 20.10, 20.20, 20.39)."""

    uri: URI
    display: str | None = None
    params: list[tuple[str, str | None]] = field(default_factory=list)
    bracketed: bool = True

    @staticmethod
    def parse(text: str) -> NameAddr:
        text = text.strip()
        display: str | None = None
        rest = text
        if rest.startswith('"'):
            end = _closing_quote(rest)
            if end < 0:
                raise ValueError(f"unterminated display name: {text!r}")
            display = rest[1:end].replace('\\"', '"').replace("\\\\", "\\")
            rest = rest[end + 1 :].lstrip()
        lt = rest.find("<")
        if lt >= 0:
            gt = rest.find(">", lt)
            if gt < 0:
                raise ValueError(f"missing '>' in address: {text!r}")
            if display is None:
                display = rest[:lt].strip() or None
            uri = URI.parse(rest[lt + 1 : gt])
            params = parse_params(rest[gt + 1 :])
            return NameAddr(uri=uri, display=display, params=params, bracketed=True)
        if display is not None:
            raise ValueError(f"missing '<' in address: {text!r}")
        # addr-spec form: parameters after the URI belong to the header (RFC 3261 20.10).
        uri_text, _, params = rest.partition(";")
        return NameAddr(uri=URI.parse(uri_text), params=parse_params(params), bracketed=False)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)

    def with_tag(self, tag: str) -> NameAddr:
        params = [(k, v) for k, v in self.params if k.lower() != "tag"] + [("tag", tag)]
        return NameAddr(uri=self.uri, display=self.display, params=params, bracketed=self.bracketed)

    def __str__(self) -> str:
        params = format_params(self.params)
        if not self.bracketed and self.display is None and not self.uri.params and self.uri.headers is None:
            return f"{self.uri}{params}"
        display = ""
        if self.display is not None:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{params}"


def _closing_quote(text: str) -> int:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return -1


@dataclass
class Via:
    """``SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`` (RFC 3261 20.42)."""

    transport: str
    host: str
    port: int | None = None
    params: list[tuple[str, str | None]] = field(default_factory=list)

    @staticmethod
    def parse(text: str) -> Via:
        text = text.strip()
        proto, _, rest = text.partition(" ")
        parts = [p.strip() for p in proto.split("/")]
        if len(parts) != 3 or parts[0].upper() != "SIP" or parts[1] != "2.0" or not parts[2]:
            raise ValueError(f"invalid Via: {text!r}")
        sent_by, _, params = rest.strip().partition(";")
        sent_by = sent_by.strip()
        if not sent_by:
            raise ValueError(f"invalid Via: {text!r}")
        try:
            host, port = parse_host_port(sent_by, sent_by)
        except ValueError:
            raise ValueError(f"invalid Via sent-by: {text!r}") from None
        return Via(transport=parts[2].upper(), host=host, port=port, params=parse_params(params))

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def sent_by(self) -> str:
        return join_host_port(self.host, self.port)

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{format_params(self.params)}"


@dataclass
class CSeq:
    """``CSeq: 314159 INVITE`` (RFC 3261 20.16): a 32-bit sequence number and a method."""

    seq: int
    method: str

    @staticmethod
    def parse(text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii():
            raise ValueError(f"invalid CSeq: {text!r}")
        seq = int(parts[0])
        if seq >= 2**31:  # RFC 3261 8.1.1.5: less than 2**31
            raise ValueError(f"invalid CSeq: {text!r}")
        return CSeq(seq=seq, method=parts[1])

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"
