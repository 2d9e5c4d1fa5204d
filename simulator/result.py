"""What one call ended with, as read back (through the API) after a driver placed it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Packet:
    """One captured datagram: seconds since the call started, source, destination, bytes."""

    time: float
    src: tuple[str, int]
    dst: tuple[str, int]
    data: bytes
    transport: str = "udp"

    @property
    def is_sip(self) -> bool:
        return self.data[:3] == b"SIP" or self.data.split(b" ", 1)[0].isalpha()


@dataclass
class CallResult:
    """The observed outcome of one scenario's call.

    `trunk`/`rule` are spec names (resolved from LiveKit ids through the API's lists);
    `status` None with `final=False` means no final response arrived (an `oss` drop).
    """

    status: int | None = None
    reason: str = ""
    final: bool = False
    trunk: str | None = None
    rule: str | None = None
    room: str | None = None
    identity: str | None = None
    name: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    joined: bool = False
    digits: str | None = None
    refer_to: str | None = None
    refer_status: int | None = None
    notify: int | None = None
    transfer_error: int | None = None
    sip_error: int | None = None
    invite: dict | None = None  # {"request_uri", "from", "to", "headers": {name: value}}
    packets: list[Packet] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the driver could not do what was asked
    trace: list[str] = field(default_factory=list)  # routing trace (in-process driver)
    # What the call generator itself reported (SIPp's exit code and error lines): no verdict
    # of its own, shown with a failure so an empty result is never unexplained.
    notes: list[str] = field(default_factory=list)
    # What the driver's packets hold of the media, when not all of it (None: all it sent
    # and received), shown on the HTML ladder.
    media_note: str | None = None
