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

from dataclasses import dataclass, field

from sipconf.sip.sipuri import find_param, join_host_port, split_ipv6_reference

__all__ = ["URI", "format_params", "parse_host_port", "parse_params"]


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
