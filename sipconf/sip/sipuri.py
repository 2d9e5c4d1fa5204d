"""A SIP URI value with LiveKit's (sipgo's) parse and render rules.

LiveKit builds outbound Request-URI/From/To with sipgo's `sip.Uri`; the bytes it sends
are whatever that type renders, so this value mirrors it exactly (docs/livekit.md#outbound-uris):

- parse `scheme:[user[:password]@]host[:port][;params][?headers]`; the scheme is the
  letters before the first `:` (so `<sip:...>;tag=x` fails: the scheme would hold `<`);
  only `sips` and `tel` survive as schemes, anything else renders as `sip` (LiveKit starts
  from `Uri{Scheme: "sip"}` and the parser only switches to sips/tel);
- render `scheme:user[:password]@host[:port][;params][?headers]`, port omitted when 0,
  IPv6 hosts bracketed;
- setting `transport` replaces an existing value in place (sipgo `HeaderParams.Add`).

The bridge parses incoming URIs with `sipconf.sip.uri.URI` instead: RFC 3261 and
lossless (any scheme kept, `sip:@h`, `;lr=`, `//` and the port range as sent or refused),
where this type is lossy on purpose because sipgo is. What the two share lives here:
`find_param`, `split_ipv6_reference`, `join_host_port`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sipconf.sip.gostr import parse_decimal

# Schemes the parser keeps; LiveKit's default for everything else is "sip".
_KEPT_SCHEMES = ("sips", "tel")


def find_param(params: Iterable[tuple[str, str | None]], name: str) -> str | None:
    """The value of parameter `name` (case-insensitive, first wins): "" for a flag, None when absent.

    A flag is stored as "" here (sipgo) and as None by the bridge (to keep `;lr` apart
    from `;lr=`); both read back as "".
    """
    lower = name.lower()
    for k, v in params:
        if k.lower() == lower:
            return v if v is not None else ""
    return None


def split_ipv6_reference(text: str) -> tuple[str, str]:
    """`[addr]rest` -> (`addr`, `rest`): an IPv6 reference (RFC 3261 25.1) taken whole.

    `text` starts with `[`; without a closing `]` raises ValueError("missing ']' in address").
    """
    end = text.find("]")
    if end < 0:
        raise ValueError("missing ']' in address")
    return text[1:end], text[end + 1 :]


def join_host_port(host: str, port: int | None) -> str:
    """`host[:port]` with an IPv6 host in brackets (`render_host`); no port when None."""
    return render_host(host) if port is None else f"{render_host(host)}:{port}"


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's `net.SplitHostPort`: `host:port` or `[v6]:port`; raises ValueError like Go.

    The port may be empty (`host:` gives `("host", "")`); a bare host or an unbracketed
    IPv6 address is an error ("missing port" / "too many colons").
    """
    if hostport.startswith("["):
        host, rest = split_ipv6_reference(hostport)
        if not rest:
            raise ValueError("missing port in address")
        if rest[0] != ":" or ":" in rest[1:]:
            raise ValueError("too many colons in address")
        port = rest[1:]
        if "[" in host:
            raise ValueError("unexpected '[' in address")
    else:
        colon = hostport.rfind(":")
        if colon < 0:
            raise ValueError("missing port in address")
        host, port = hostport[:colon], hostport[colon + 1 :]
        if ":" in host:
            raise ValueError("too many colons in address")
        if "[" in host or "]" in host:
            raise ValueError("unexpected bracket in address")
    if "[" in port or "]" in port:
        raise ValueError("unexpected bracket in address")
    return host, port


def render_host(host: str) -> str:
    """sipgo's `uriIP`: an IPv6 literal is written in brackets."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def _parse_params(s: str, sep: str, end: str | None) -> tuple[list[tuple[str, str]], int]:
    """sipgo `UnmarshalHeaderParams`: `k[=v]` items split on `sep`, stopping at `end`.

    Quoted values may contain separators. Returns the items and the index where parsing
    stopped (`len(s)` or the position of `end`). A flag parameter has value "".
    """
    items: list[tuple[str, str]] = []
    buf: list[str] = []
    in_quotes = False
    i = 0

    def flush() -> None:
        text = "".join(buf)
        buf.clear()
        if not text:
            return
        key, eq, value = text.partition("=")
        if not key:
            raise ValueError(f"empty parameter name in {s!r}")
        items.append((key, value if eq else ""))

    while i < len(s):
        ch = s[i]
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch == sep:
            flush()
            i += 1
            continue
        elif not in_quotes and end is not None and ch == end:
            break
        buf.append(ch)
        i += 1
    if in_quotes:
        raise ValueError("unterminated quoted parameter value")
    flush()
    return items, i


def _render_params(items: tuple[tuple[str, str], ...], sep: str) -> str:
    return sep.join(f"{k}={v}" if v else k for k, v in items)


@dataclass(frozen=True)
class SipUri:
    """One SIP/SIPS/TEL URI. `host` is stored without IPv6 brackets; `params` keep order."""

    scheme: str = "sip"
    user: str = ""
    password: str = ""
    host: str = ""
    port: int = 0
    params: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, raw: str) -> "SipUri":
        """Parse the RFC 3261 19.1.1 form as sipgo does; raises ValueError on failure."""
        if not raw:
            raise ValueError("empty URI")
        colon = raw.find(":")
        if colon < 0:
            raise ValueError("missing protocol scheme")
        scheme = raw[:colon]
        if not scheme or not scheme.isascii() or not scheme.isalpha():
            raise ValueError(f"invalid uri scheme {scheme!r}")
        scheme = scheme.lower()
        rest = raw[colon + 1 :]
        kept = scheme if scheme in _KEPT_SCHEMES else "sip"
        if scheme == "tel":
            # RFC 3966: the telephone-subscriber part runs up to the first parameter.
            number, semi, tail = rest.partition(";")
            params, _ = _parse_params(tail, ";", None) if semi else ([], 0)
            return cls(scheme=kept, user=number, params=tuple(params))
        if rest.startswith("//"):
            rest = rest[2:]
        user = password = ""
        userend = 0
        for i, ch in enumerate(rest):
            if ch == "[":
                break  # an IPv6 host: no userinfo before it
            if ch == ":":
                userend = i
            elif ch == "@":
                if userend > 0:
                    user, password = rest[:userend], rest[userend + 1 : i]
                else:
                    user = rest[:i]
                rest = rest[i + 1 :]
                break
        host, after, rest = _split_host(rest)
        port = 0
        params: list[tuple[str, str]] = []
        headers: list[tuple[str, str]] = []
        if after == ":":
            end = _first_of(rest, ";?")
            port_text, after, rest = rest[:end], rest[end : end + 1], rest[end + 1 :]
            try:
                port = parse_decimal(port_text)
            except ValueError:
                raise ValueError(f"invalid port {port_text!r}") from None
        if after == ";":
            params, stop = _parse_params(rest, ";", "?")
            after, rest = rest[stop : stop + 1], rest[stop + 1 :]
        if after == "?":
            headers, _ = _parse_params(rest, "&", None)
        return cls(kept, user, password, host, port, tuple(params), tuple(headers))

    def with_user(self, user: str) -> "SipUri":
        return replace(self, user=user)

    def with_param(self, key: str, value: str) -> "SipUri":
        """Set a URI parameter, replacing an existing one in place (sipgo `Add`)."""
        items = list(self.params)
        for i, (k, _) in enumerate(items):
            if k.lower() == key.lower():
                items[i] = (k, value)
                break
        else:
            items.append((key, value))
        return replace(self, params=tuple(items))

    def param(self, key: str) -> str | None:
        return find_param(self.params, key)

    def __str__(self) -> str:
        out = [self.scheme or "sip", ":"]
        if self.scheme == "tel":
            out.append(self.user)
        else:
            if self.user:
                out.append(self.user)
                if self.password:
                    out.append(":" + self.password)
                out.append("@")
            out.append(join_host_port(self.host, self.port if self.port > 0 else None))
        if self.params:
            out.append(";" + _render_params(self.params, ";"))
        if self.headers:
            out.append("?" + _render_params(self.headers, "&"))
        return "".join(out)

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")


def _first_of(s: str, chars: str) -> int:
    for i, ch in enumerate(s):
        if ch in chars:
            return i
    return len(s)


def _split_host(s: str) -> tuple[str, str, str]:
    """Host up to `:`, `;` or `?`; a bracketed IPv6 literal is taken whole."""
    if s.startswith("["):
        try:
            host, tail = split_ipv6_reference(s)
        except ValueError:
            raise ValueError("IPv6 no closing bracket") from None  # sipgo's text
        if tail and tail[0] not in ":;?":
            raise ValueError(f"unexpected {tail[0]!r} after IPv6 host")
        return host, tail[:1], tail[1:]
    end = _first_of(s, ":;?")
    return s[:end], s[end : end + 1], s[end + 1 :]
