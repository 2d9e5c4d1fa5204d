"""SIP and tel URIs (RFC 3261 19.1, RFC 3966), parsed into a dataclass and printed back.

``sip:user:password@host:port;uri-parameters?headers``.  Other schemes (tel:, urn:, ...)
keep everything after the colon in ``user`` so that they round-trip unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["URI", "find_param", "format_params", "parse_params", "split_hostport"]


def find_param(params: list[tuple[str, str | None]], name: str) -> str | None:
    """The value of parameter ``name`` (case-insensitive): ``""`` for a flag, None when absent."""
    for k, v in params:
        if k.lower() == name.lower():
            return v if v is not None else ""
    return None


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
        rest, qmark, headers = rest.partition("?")
        userinfo, at, hostpart = rest.rpartition("@")
        user = password = None
        if at:
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
        hostport, _, params = hostpart.partition(";")
        host, port = split_hostport(hostport, text)
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
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        if self.scheme not in ("sip", "sips"):
            return f"{self.scheme}:{self.user or ''}{format_params(self.params)}"
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        tail = f"?{self.headers}" if self.headers is not None else ""
        return f"{self.scheme}:{userinfo}{self.host_port}{format_params(self.params)}{tail}"


def split_hostport(hostport: str, whole: str) -> tuple[str, int | None]:
    if hostport.startswith("["):  # IPv6 reference, RFC 3261 25.1
        end = hostport.find("]")
        if end < 0:
            raise ValueError(f"invalid URI host: {whole!r}")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
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
