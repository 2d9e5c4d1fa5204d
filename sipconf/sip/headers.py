"""Structured SIP header values: name-addr (From/To/Contact/Route), Via, CSeq (RFC 3261 20).

Each is a dataclass with ``parse(text)`` (``ValueError`` with exact text) and ``str()``.
"""

from __future__ import annotations

import re
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
            display = _QUOTED_PAIR.sub(r"\1", rest[1:end])
            rest = rest[end + 1 :].lstrip()
        lt = rest.find("<")
        if lt >= 0:
            gt = rest.find(">", lt)
            if gt < 0:
                raise ValueError(f"missing '>' in address: {text!r}")
            if display is None:
                display = _unquoted_display(rest[:lt], text)
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


# RFC 3261 25.1: an unquoted display-name is tokens and LWS. Commas, semicolons and quotes
# delimit header values and parameters, so a name holding one must be quoted (RFC 4475
# 3.1.2.15); other non-token characters, UTF-8 included, are tolerated as other stacks do.
_NOT_IN_UNQUOTED_DISPLAY = re.compile(r'[,;"\\\x00-\x08\x0a-\x1f\x7f]')


def _unquoted_display(text: str, whole: str) -> str | None:
    display = text.strip()
    if _NOT_IN_UNQUOTED_DISPLAY.search(display):
        raise ValueError(f"display name must be quoted: {whole!r}")
    return display or None


# RFC 3261 25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F); any escaped octet stands
# for itself, a NUL included (RFC 4475 3.1.1.2).
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


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
        match = _VIA.fullmatch(text)
        if match is None:
            raise ValueError(f"invalid Via: {text!r}")
        name, version, transport, sent_by, params = match.groups()
        if name.upper() != "SIP" or version != "2.0":
            raise ValueError(f"invalid Via: {text!r}")
        sent_by = _SWS_COLON.sub(":", sent_by.strip())
        if not sent_by or _LWS.search(sent_by):
            raise ValueError(f"invalid Via sent-by: {text!r}")
        try:
            host, port = parse_host_port(sent_by, sent_by)
        except ValueError:
            raise ValueError(f"invalid Via sent-by: {text!r}") from None
        return Via(transport=transport.upper(), host=host, port=port,
                   params=_via_params(params, text) if params is not None else [])

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


_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
# RFC 3261 20.42 and 25.1: sent-protocol LWS sent-by *(SEMI via-params), where SLASH, COLON,
# SEMI and EQUAL may carry white space on both sides (SWS), so "SIP / 2.0 / UDP" is valid
# (RFC 4475 3.1.1.1).  Folded lines arrive here already joined by one space.
_VIA = re.compile(rf"({_TOKEN})\s*/\s*({_TOKEN})\s*/\s*({_TOKEN})\s+([^;]*?)\s*(?:;(.*))?", re.S)
_SWS_COLON = re.compile(r"\s*:\s*")
_LWS = re.compile(r"\s")
_TOKEN_RE = re.compile(_TOKEN)


def _via_params(text: str, whole: str) -> list[tuple[str, str | None]]:
    """``branch = z9hG4bK1 ; rport`` -> pairs.  An empty parameter (``;;``) is refused:
    the grammar has none, and RFC 4475 3.1.2.1 expects a 400 for it."""
    out: list[tuple[str, str | None]] = []
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if _TOKEN_RE.fullmatch(name) is None or (eq and not value):
            raise ValueError(f"invalid Via parameter: {whole!r}")
        out.append((name, value if eq else None))
    return out


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
