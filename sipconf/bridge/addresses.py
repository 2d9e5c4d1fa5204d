"""Addresses the bridge sends to, checked before any socket sees them.

Every destination the bridge uses comes from something a peer wrote: a Via's sent-by,
``received``, ``rport`` or ``maddr`` (RFC 3261 18.2.2, RFC 3581 4), a Contact or Route URI
(RFC 3261 12.2.1.1), an SDP connection address. So none is trusted: a destination is an IP
literal (a host name is never resolved; ``localhost`` alone reads as 127.0.0.1), without an
IPv6 zone, of the socket's address family, with a port in 1..65535, and on loopback
(127.0.0.0/8, ::1) unless the operator allowed other addresses. Anything else raises
``AddressError``, whose text is one line saying why.

``TrustedProxies`` is the operator's list of addresses and CIDR blocks whose traffic the
per-source limits do not apply to (a proxy carries many callers on one address).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Iterable

__all__ = ["AddressError", "TrustedProxies", "destination", "loopback_destination", "port_number"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_AN_IP = "not an IP address (host names are never resolved)"
OFF_LOOPBACK = "only loopback IP addresses are reachable"
BAD_PORT = "not a port number (1-65535)"


class AddressError(ValueError):
    """A destination the bridge refuses; ``str()`` is the reason, one line."""


# host -> (its address, that address as text, whether it is loopback, its IP version)
_PARSED: dict[str, tuple[IPAddress | None, str, bool, int]] = {}
_PARSED_MAX = 4096  # bounded: peers choose the hosts


def _ip(host: str) -> IPAddress | None:
    """``host`` (IPv6 in brackets or not) as an IP address without a zone, or None.
    A zone (``%eth0``) is refused: it is an interface name, free text a peer chose."""
    return _parsed(host)[0]


def _parsed(host: str) -> tuple[IPAddress | None, str, bool, int]:
    # Every message sent asks for its destination's address: parsed once per host text
    # (ipaddress objects are immutable, so they are shared safely).
    hit = _PARSED.get(host)
    if hit is None:
        address = _parse_ip(host)
        if address is None:
            hit = (None, "", False, 0)
        else:
            hit = (address, str(address), address.is_loopback, address.version)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[host] = hit
    return hit


def _parse_ip(host: str) -> IPAddress | None:
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if name.lower() == "localhost":
        return ipaddress.IPv4Address("127.0.0.1")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return None
    return address


def loopback_destination(host: str) -> str | None:
    """``host`` as the loopback IP literal to send to, or None: a name other than
    ``localhost`` is never resolved, and an address off loopback is refused."""
    address = _ip(host)
    return str(address) if address is not None and address.is_loopback else None


def port_number(value: int | str | None) -> int:
    """A destination port: 1..65535 (0 means "any" to a socket, never a peer's port)."""
    if type(value) is int and 0 < value < 65536:
        return value  # the common case, asked on every send
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 5):
            raise AddressError(BAD_PORT)
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise AddressError(BAD_PORT)
    return value


def destination(host: str, port: int | str | None, *, allow_external: bool = False,
                family: int | None = None) -> tuple[str, int]:
    """``(host, port)`` as a socket may be given it, or AddressError.  ``family`` is the
    sending socket's (AF_INET or AF_INET6); None accepts either."""
    address, text, loopback, version = _parsed(host)
    if address is None:
        raise AddressError(NOT_AN_IP)
    checked_port = port_number(port)
    if not allow_external and not loopback:
        raise AddressError(OFF_LOOPBACK)
    if family == socket.AF_INET and version != 4:
        raise AddressError("an IPv6 address, and the socket is IPv4")
    if family == socket.AF_INET6 and version != 6:
        raise AddressError("an IPv4 address, and the socket is IPv6")
    return text, checked_port


@dataclass(frozen=True)
class TrustedProxies:
    """``ip in proxies``: is ``ip`` inside one of the operator's trusted addresses or blocks?"""

    networks: tuple[IPNetwork, ...] = ()

    @staticmethod
    def parse(values: Iterable[str]) -> TrustedProxies:
        networks = []
        for value in values:
            try:
                networks.append(ipaddress.ip_network(value.strip(), strict=False))
            except ValueError:
                raise ValueError(f"trusted proxy {value!r}: expected an IP address or a CIDR block,"
                                 " e.g. 127.0.0.2 or 10.0.0.0/8") from None
        return TrustedProxies(tuple(networks))

    def __contains__(self, ip: object) -> bool:
        if not self.networks or not isinstance(ip, str):
            return False
        address = _ip(ip)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers so
        return address is not None and any(address in network for network in self.networks
                                           if network.version == address.version)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __str__(self) -> str:
        return ", ".join(str(network) for network in self.networks)
