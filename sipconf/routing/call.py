"""The facts of one inbound call that routing decides on (docs/livekit.md#inbound-inputs)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class CallFacts:
    """What the INVITE (and, for PIN retries, the collected DTMF) tells the router.

    `from_user`/`to_user` are the user parts of the From and To URIs (the Request-URI is not
    used for matching), `from_host` the From host, `src_ip` the packet source without port.
    `sip_call_id` is LiveKit's `SCL_` id, `call_id_full` the SIP `Call-ID`, `from_tag` the
    From tag. `headers` are the INVITE headers in order (for header mappings). `pin`/`no_pin`
    carry the PIN flow's result; `sip_trunk_id` is the request's trunk id (from the auth step).
    """

    from_user: str
    to_user: str
    from_host: str = ""
    src_ip: str = ""
    sip_call_id: str = ""
    call_id_full: str = ""
    from_tag: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    pin: str = ""
    no_pin: bool = False
    extra_attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    sip_trunk_id: str = ""

    def with_pin(self, pin: str = "", no_pin: bool = False) -> "CallFacts":
        """The same call as the PIN flow re-submits it (docs/livekit.md#pin-flow)."""
        return replace(self, pin=pin, no_pin=no_pin)
