"""What a UAS checks in a request before acting on it (RFC 3261 8.2.2 header inspection,
8.2.3 content processing), for the methods the bridge implements.

Method inspection (8.2.1, 405) stays with the bridge, which knows its methods; ACK and
CANCEL are never inspected (RFC 3261 8.2.2.3: Require is ignored in them, and neither can
be refused on its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipconf.sip.message import Request

__all__ = ["ACCEPTED_CONTENT", "SCHEMES", "SUPPORTED_OPTIONS", "Refusal", "inspect"]

# RFC 3261 8.2.2.1: the Request-URI schemes the bridge answers for (tel: as carriers send it).
SCHEMES = frozenset({"sip", "sips", "tel"})
# RFC 3261 8.2.2.3: option tags the bridge implements in full.  None yet: it sends no
# Supported header either.
SUPPORTED_OPTIONS: frozenset[str] = frozenset()
# RFC 3261 8.2.3: the only body an INVITE may carry here is an SDP offer.
ACCEPTED_CONTENT = "application/sdp"


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)


def inspect(request: Request) -> Refusal | None:
    """The response that refuses ``request`` before any routing, or None to go on."""
    scheme = request.uri.partition(":")[0].lower()
    if scheme not in SCHEMES:
        return Refusal(416, "Unsupported URI Scheme")  # RFC 3261 8.2.2.1, RFC 4475 3.3.2
    unknown = [tag for tag in request.values("require") if tag.lower() not in SUPPORTED_OPTIONS]
    if unknown:
        # RFC 3261 8.2.2.3 and 20.40: list what we do not support.
        return Refusal(420, "Bad Extension", [("Unsupported", ", ".join(unknown))])
    if request.method == "INVITE":
        content_type = (request.get("content-type") or "").partition(";")[0].strip().lower()
        if content_type and content_type != ACCEPTED_CONTENT:
            # RFC 3261 8.2.3 and 21.4.13: say what we accept (RFC 4475 3.3.6).
            return Refusal(415, "Unsupported Media Type", [("Accept", ACCEPTED_CONTENT)])
    return None
