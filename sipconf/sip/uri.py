"""SIP and tel URIs (RFC 3261 19.1, RFC 3966), parsed into a dataclass and printed back.

``sip:user:password@host:port;uri-parameters?headers``.  Other schemes (tel:, urn:, ...)
keep everything after the colon in ``user`` so that they round-trip unchanged.

This is not ``sipconf.sip.sipuri.SipUri`` on purpose: that one copies sipgo, whose
parse and render are lossy (other schemes become ``sip``, ``sip:@h`` -> ``sip:h``,
``;lr=`` -> ``;lr``, ``//`` dropped, the first ``@`` ends the user, any port accepted),
which is what LiveKit sends.  The bridge reads what peers send and echoes their URIs back
(Contact -> Request-URI), so it keeps them as written and refuses what RFC 3261 refuses.
The helpers both need (parameter lookup, IPv6 references, host:port) come from there.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from sipconf.sip.sipuri import find_param, join_host_port, split_ipv6_reference

__all__ = ["URI", "format_params", "parse_host_port", "parse_params", "uri_equal"]


def parse_params(text: str) -> list[tuple[str, str | None]]:
    """``;a=1;lr`` (leading ``;`` optional) -> ``[("a", "1"), ("lr", None)]``, order kept."""
    out: list[tuple[str, str | None]] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        out.append((name.strip(), value.strip() if eq else None))
    return out


def format_params(params: list[tuple[str, str | None]]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


@dataclass
class URI:
    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: list[tuple[str, str | None]] = field(default_factory=list)
    headers: str | None = None

    @staticmethod
    def parse(text: str) -> URI:
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        if not colon or not scheme or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"invalid URI: {text!r}")
        scheme = scheme.lower()
        if scheme not in ("sip", "sips"):
            if not rest:
                raise ValueError(f"invalid URI: {text!r}")
            # tel: numbers may carry parameters too (RFC 3966 3).
            number, _, params = rest.partition(";")
            return URI(scheme=scheme, user=number, params=parse_params(params))
        # RFC 3261 25.1: "?" may appear in the user part (user-unreserved) but "@" may
        # appear nowhere after it, so the last "@" ends the userinfo and headers start at
        # the first "?" after it (RFC 4475 3.1.1.2).
        userinfo, at, hostpart = rest.rpartition("@")
        hostpart, qmark, headers = hostpart.partition("?")
        user = password = None
        if at:
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
        hostport, _, params = hostpart.partition(";")
        host, port = parse_host_port(hostport, text)
        return URI(
            scheme=scheme,
            user=user,
            password=password,
            host=host,
            port=port,
            params=parse_params(params),
            headers=headers if qmark else None,
        )

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)

    @property
    def host_port(self) -> str:
        return join_host_port(self.host, self.port)

    def __str__(self) -> str:
        if self.scheme not in ("sip", "sips"):
            return f"{self.scheme}:{self.user or ''}{format_params(self.params)}"
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        tail = f"?{self.headers}" if self.headers is not None else ""
        return f"{self.scheme}:{userinfo}{self.host_port}{format_params(self.params)}{tail}"


def parse_host_port(hostport: str, whole: str) -> tuple[str, int | None]:
    """A URI's `hostport` (RFC 3261 25.1) as (host, port or None); errors name `whole`.

    Unlike `sipuri.split_host_port` (Go's `net.SplitHostPort`), the port is optional and
    checked, and an IPv6 host keeps its brackets.
    """
    if hostport.startswith("["):  # IPv6 reference, RFC 3261 25.1; kept in its brackets
        try:
            address, rest = split_ipv6_reference(hostport)
        except ValueError:
            raise ValueError(f"invalid URI host: {whole!r}") from None
        host = f"[{address}]"
        if rest and not rest.startswith(":"):
            raise ValueError(f"invalid URI host: {whole!r}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text = hostport.partition(":")
        if not colon:
            port_text = None
    if not host:
        raise ValueError(f"invalid URI host: {whole!r}")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
        raise ValueError(f"invalid URI port: {whole!r}")
    return host, int(port_text)


# ---- comparison (RFC 3261 19.1.4) --------------------------------------------------------

# RFC 3261 25.1 `reserved`: an escape of one of these is not the same as the character itself.
_RESERVED = frozenset(";/?:@&=+$,")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Parameters that never match when only one URI has them, whatever their (default) value.
_MUST_BE_IN_BOTH = frozenset({"user", "ttl", "method", "maddr", "transport"})
_DEFAULT_PORTS = {"sip": 5060, "sips": 5061}


def _unescape(text: str) -> str:
    """`%61` -> `a`: an escaped character outside `reserved` equals itself (RFC 3261 19.1.4);
    an escaped reserved one stays escaped, its hex digits upper-cased."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return f"%{match.group(1).upper()}" if char in _RESERVED else char

    return _ESCAPE.sub(one, text)


def _host_key(host: str) -> str:
    """Host names and IPv4 compare case-insensitively; an IPv6 reference by its address
    (`[::1]` is `[0:0::1]`). A name never equals the address it resolves to."""
    if host.startswith("[") and host.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1])}]"
        except ValueError:
            pass
    return host.lower()


def _param_keys(params: list[tuple[str, str | None]]) -> dict[str, str | None]:
    """Names and values compare case-insensitively, escapes resolved; the first of a name wins."""
    out: dict[str, str | None] = {}
    for name, value in params:
        out.setdefault(_unescape(name).lower(), None if value is None else _unescape(value).lower())
    return out


def _header_keys(headers: str | None) -> list[tuple[str, str]]:
    """`?a=1&b=2` as a sorted list: order does not matter, every header must be in both."""
    if headers is None:
        return []
    out = []
    for part in headers.split("&"):
        name, _, value = part.partition("=")
        out.append((_unescape(name).lower(), _unescape(value)))
    return sorted(out)


def uri_equal(a: str | URI, b: str | URI, *, default_port: bool = False) -> bool:
    """Whether two URIs are equivalent under RFC 3261 19.1.4.

    sip and sips never match; user and password compare case-sensitively, everything else
    case-insensitively; escapes of unreserved characters equal the characters; parameter
    and header order does not matter; a parameter in one URI only is ignored, except
    `user`, `ttl`, `method`, `maddr` and `transport`, and every header must be in both.
    A missing port does not match an explicit 5060, unless `default_port` is set: then a
    URI without a port stands for its scheme's default (5060 for sip, 5061 for sips).
    Other schemes (tel:, ...) compare by scheme, the part after it and their parameters.
    A text that does not parse equals nothing.
    """
    try:
        left = a if isinstance(a, URI) else URI.parse(a)
        right = b if isinstance(b, URI) else URI.parse(b)
    except ValueError:
        return False
    if left.scheme != right.scheme:
        return False
    left_params, right_params = _param_keys(left.params), _param_keys(right.params)
    if left.scheme not in _DEFAULT_PORTS:
        return _unescape(left.user or "") == _unescape(right.user or "") and left_params == right_params
    if _optional(left.user) != _optional(right.user) or _optional(left.password) != _optional(right.password):
        return False
    if _host_key(left.host) != _host_key(right.host):
        return False
    left_port, right_port = left.port, right.port
    if default_port:
        left_port = _DEFAULT_PORTS[left.scheme] if left_port is None else left_port
        right_port = _DEFAULT_PORTS[right.scheme] if right_port is None else right_port
    if left_port != right_port:
        return False
    for name in left_params.keys() | right_params.keys():
        if name in left_params and name in right_params:
            if left_params[name] != right_params[name]:
                return False
        elif name in _MUST_BE_IN_BOTH:
            return False
    return _header_keys(left.headers) == _header_keys(right.headers)


def _optional(text: str | None) -> str | None:
    """An absent part never matches a present one, even an empty one (RFC 3261 19.1.4)."""
    return None if text is None else _unescape(text)
