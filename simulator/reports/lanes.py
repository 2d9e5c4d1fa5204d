"""Who is who in a call's packets: one lane per endpoint, named by its role.

A lane is a SIP address (ip:port). Roles come from the first INVITE: on an inbound call its
sender is the caller and its receiver the bridge; on an outbound call the bridge sends it to
the far end. A REFER's Refer-To adds the transfer target, which may never send a packet.
RTP is put on the lane whose SDP announced its address, so a caller that signals and sends
media from different ports still has one lane.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simulator.result import Packet

_C_LINE = re.compile(rb"^c=IN IP4 (\S+)", re.M)
_M_AUDIO = re.compile(rb"^m=audio (\d+) ", re.M)
_REFER_TO = re.compile(rb"^(?:Refer-To|r):[ \t]*<?([^>\r\n]+)>?", re.M | re.I)


def address(end: tuple[str, int]) -> str:
    return f"{end[0]}:{end[1]}"


@dataclass(frozen=True)
class Lane:
    role: str  # "caller", "bridge", "far end", "transfer target", "endpoint"
    address: str  # "127.0.0.31:5062", or the Refer-To URI for a transfer target


@dataclass
class Lanes:
    lanes: list[Lane] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)  # address (SIP or media) -> lane

    def of(self, end: tuple[str, int]) -> int:
        """The lane of an address, adding an `endpoint` lane for one no message explained."""
        key = address(end)
        if key not in self._index:
            same_ip = {i for a, i in self._index.items() if a.rsplit(":", 1)[0] == end[0]}
            if len(same_ip) == 1:  # media from a port no SDP named, on a host with one lane
                return same_ip.pop()
            self._index[key] = self._add(Lane("endpoint", key))
        return self._index[key]

    def _add(self, lane: Lane) -> int:
        self.lanes.append(lane)
        return len(self.lanes) - 1

    def name(self, end: tuple[str, int], role: str) -> None:
        key = address(end)
        if key not in self._index:
            self._index[key] = self._add(Lane(role, key))

    def alias(self, media: tuple[str, int], owner: tuple[str, int]) -> None:
        """RTP at `media` belongs to the lane of the SIP endpoint `owner`."""
        self._index.setdefault(address(media), self.of(owner))

    def target(self, uri: str) -> int:
        key = f"refer:{uri}"
        if key not in self._index:
            self._index[key] = self._add(Lane("transfer target", uri))
        return self._index[key]


def lanes_of(packets: list[Packet], direction: str) -> Lanes:
    out = Lanes()
    sip = [p for p in packets if p.is_sip]
    invite = next((p for p in sip if p.data.startswith(b"INVITE ")), None)
    if invite is not None:
        if direction == "outbound":
            out.name(invite.src, "bridge")
            out.name(invite.dst, "far end")
        else:
            out.name(invite.src, "caller")
            out.name(invite.dst, "bridge")
    for p in sip:
        out.name(p.src, "endpoint")
        out.name(p.dst, "endpoint")
        media = sdp_address(p.data)
        if media is not None:
            out.alias(media, p.src)
    for p in sip:
        if p.data.startswith(b"REFER "):
            uri = refer_to(p.data)
            if uri:
                out.target(uri)
    return out


def sdp_address(data: bytes) -> tuple[str, int] | None:
    """The audio address an SDP body in this message announces (c= and m=audio)."""
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    c, m = _C_LINE.search(body), _M_AUDIO.search(body)
    if c is None or m is None:
        return None
    return c.group(1).decode("ascii", "replace"), int(m.group(1))


def refer_to(data: bytes) -> str | None:
    found = _REFER_TO.search(data.split(b"\r\n\r\n", 1)[0])
    return found.group(1).decode("utf-8", "replace").strip() if found else None
