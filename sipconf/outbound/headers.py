"""Request-URI, From and To of an outbound INVITE, exactly as LiveKit builds them
(docs/livekit.md#outbound-uris).

Built in the order Request-URI, To, From; a failure is psrpc invalid_argument with the
part named first (`invalid request URI: `, `invalid To header: `, `invalid From header: `).
Each URI comes from one of three forms:

- legacy (user, address): `sip:<user>@<host>[:<port>]` from the trunk address;
- raw: a URI string, optionally in one pair of `<...>`;
- values: a `SIPUri` message (`user`, `host`/`ip`, `port`, `transport`).

A transport other than AUTO becomes the URI parameter `transport=udp|tcp|tls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from livekit.protocol.sip import SIPNamedDest, SIPRequestDest, SIPTransport, SIPUri
from google.protobuf import json_format

from sipconf.routing import errors
from sipconf.routing.errors import LiveKitError
from sipconf.sip.gostr import parse_decimal, quote
from sipconf.sip.sipuri import SipUri, split_host_port

# RFC 3261 25.1 `token` characters: what a user part may hold without escaping anything.
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")


class _UriError(ValueError):
    """A failure inside one part; the caller adds the part's prefix."""


@dataclass(frozen=True)
class OutboundRequest:
    """The fields of LiveKit's InternalCreateSIPParticipantRequest that
    docs/livekit.md#outbound-uris reads.

    `display_name` is None when absent (presence matters: `""` gives an empty display).
    """

    address: str = ""
    number: str = ""
    call_to: str = ""
    display_name: str | None = None
    transport: int = SIPTransport.SIP_TRANSPORT_AUTO
    to_user_override: str = ""
    hostname: str = ""
    sip_request_uri: SIPRequestDest | None = None
    sip_from_header: SIPNamedDest | None = None
    sip_to_header: SIPNamedDest | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "OutboundRequest":
        """From the internal request's protobuf JSON (proto field names, enum names)."""

        def msg(kind: type, key: str) -> Any:
            value = data.get(key)
            if value is None:
                return None
            m = kind()
            json_format.ParseDict(value, m)
            return m

        transport = data.get("transport", 0)
        return cls(
            address=data.get("address", ""),
            number=data.get("number", ""),
            call_to=data.get("call_to", ""),
            display_name=data.get("display_name"),
            transport=SIPTransport.Value(transport) if isinstance(transport, str) else int(transport),
            to_user_override=data.get("to_user_override", ""),
            hostname=data.get("hostname", ""),
            sip_request_uri=msg(SIPRequestDest, "sip_request_uri"),
            sip_from_header=msg(SIPNamedDest, "sip_from_header"),
            sip_to_header=msg(SIPNamedDest, "sip_to_header"),
        )


@dataclass(frozen=True)
class NameAddr:
    """A From/To value: optional display name and a URI (sipgo renders it as below)."""

    display: str
    uri: SipUri

    def render(self, header: str) -> str:
        # The display name is inserted verbatim between quotes, as sipgo does.
        display = f'"{self.display}" ' if self.display else ""
        return f"{header}: {display}<{self.uri}>"


@dataclass(frozen=True)
class OutboundHeaders:
    request_uri: SipUri
    from_: NameAddr
    to: NameAddr

    def rendered(self) -> tuple[str, str, str]:
        """(`sip:...`, `From: ...` without tag, `To: ...`)."""
        return str(self.request_uri), self.from_.render("From"), self.to.render("To")


def transport_name(transport: int) -> str:
    """`SIPTransport.Name()`: lower-case, "" for AUTO."""
    if transport == SIPTransport.SIP_TRANSPORT_AUTO:
        return ""
    try:
        return SIPTransport.Name(transport).removeprefix("SIP_TRANSPORT_").lower()
    except ValueError:
        return str(transport)


def _set_transport(uri: SipUri, transport: int) -> SipUri:
    name = transport_name(transport)
    return uri.with_param("transport", name) if name else uri


def legacy_uri(user: str, addr: str, transport: int) -> SipUri:
    """Legacy form: `sip:<user>@<address>` from a phone number and a trunk address
    (docs/livekit.md#outbound-uris)."""
    if not user:
        raise _UriError("number must be set")
    if "@" in user:
        raise _UriError("should be a phone number or SIP user, not a full SIP URI")
    if not addr:
        raise _UriError("address must be set")
    if addr.startswith(("sip:", "sips:")):
        raise _UriError("address must be a hostname without 'sip:' prefix")
    if "transport=" in addr:
        raise _UriError("legacy address must not contain parameters; use transport field")
    if ";" in addr or "=" in addr:
        raise _UriError("legacy address must not contain parameters")
    host, port = addr, 0
    try:
        split_host, sport = split_host_port(addr)
    except ValueError:
        sport = ""
    if sport:
        host = split_host
        try:
            port = parse_decimal(sport)
        except ValueError:
            raise _UriError(f"invalid port in hostname: {quote(sport)}") from None
    return _set_transport(SipUri(user=user, host=host, port=port), transport)


def raw_uri(raw: str, transport: int) -> SipUri:
    """Raw form (docs/livekit.md#outbound-uris): one enclosing `<...>` stripped, then sipgo's URI
    parser."""
    if len(raw) >= 2 and raw[0] == "<" and raw[-1] == ">":
        raw = raw[1:-1]
    try:
        uri = SipUri.parse(raw)
    except ValueError:
        raise _UriError("invalid request URI") from None
    return _set_transport(uri, transport)


def values_uri(u: SIPUri, transport: int) -> SipUri:
    """Values form (docs/livekit.md#outbound-uris). A request transport and a URI transport must
    agree (AUTO yields)."""
    if transport != u.transport:
        if u.transport == SIPTransport.SIP_TRANSPORT_AUTO:
            pass
        elif transport == SIPTransport.SIP_TRANSPORT_AUTO:
            transport = u.transport
        else:
            raise _UriError(
                f"different transports specified: {SIPTransport.Name(transport)} vs {SIPTransport.Name(u.transport)}"
            )
    if not u.user:
        raise _UriError("username or number must be set")
    if not u.host and not u.ip:
        raise _UriError("host or ip must be set")
    host = u.host or u.ip
    try:
        _, sport = split_host_port(host)
    except ValueError:
        sport = ""
    if sport:
        raise _UriError("host or ip must not contain port")
    return _set_transport(SipUri(user=u.user, host=host, port=u.port), transport)


def _dest_uri(dest: SIPRequestDest | SIPNamedDest | None, user: str, addr: str, transport: int) -> SipUri:
    if dest is None:
        return legacy_uri(user, addr, transport)
    which = dest.WhichOneof("uri")
    if which == "raw":
        return raw_uri(dest.raw, transport)
    if which == "values":
        return values_uri(dest.values, transport)
    raise _UriError("invalid request URI type" if isinstance(dest, SIPRequestDest) else "invalid URI type")


def build_outbound_headers(req: OutboundRequest, default_host: str) -> OutboundHeaders:
    """The Request-URI, From (no tag yet) and To of the INVITE for `req`
    (docs/livekit.md#outbound-uris).

    `default_host` is LiveKit's contact host, used for From when `req.hostname` is empty.
    Raises LiveKitError(invalid_argument, <LiveKit's exact text>).
    """
    try:
        request_uri = _dest_uri(req.sip_request_uri, req.call_to, req.address, req.transport)
    except _UriError as exc:
        raise LiveKitError(errors.INVALID_ARGUMENT, f"invalid request URI: {exc}") from None
    try:
        to = _to_header(req)
    except _UriError as exc:
        raise LiveKitError(errors.INVALID_ARGUMENT, f"invalid To header: {exc}") from None
    try:
        from_ = _from_header(req, req.hostname or default_host)
    except _UriError as exc:
        raise LiveKitError(errors.INVALID_ARGUMENT, f"invalid From header: {exc}") from None
    return OutboundHeaders(request_uri, from_, to)


def _to_header(req: OutboundRequest) -> NameAddr:
    if req.sip_to_header is not None and req.call_to:
        raise _UriError("cannot use both CallTo and SipToHeader")
    uri = _dest_uri(req.sip_to_header, req.call_to, req.address, req.transport)
    if req.to_user_override:
        # Only token characters: `@`, `;`, `:`, `?`, `<`, spaces or CR/LF would turn the
        # user into another URI, a parameter, a password or an injected header.
        if not set(req.to_user_override) <= _TOKEN_CHARS:
            raise _UriError("to user override should be a phone number or SIP user, not a full SIP URI")
        uri = uri.with_user(req.to_user_override)
    display = req.sip_to_header.display_name if req.sip_to_header is not None else ""
    return NameAddr(display, uri)


def _from_header(req: OutboundRequest, host: str) -> NameAddr:
    uri = _dest_uri(req.sip_from_header, req.number, host, req.transport)
    if req.sip_from_header is not None:
        display = req.sip_from_header.display_name
    elif req.display_name is not None:
        display = req.display_name
    else:
        display = uri.user  # nothing given: LiveKit's legacy behaviour shows the number
    return NameAddr(display, uri)
