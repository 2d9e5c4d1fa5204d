"""SDP offer/answer for one audio stream (RFC 4566, RFC 3264), PCMU/PCMA + telephone-event.

Only what a telephony bridge needs: the connection address, the audio port, the payload
types with their rtpmap/fmtp, and the direction.  Unknown lines are kept so a parsed
description prints back unchanged.

The answer's direction mirrors the offer's (RFC 3264 6.1): a phone that puts the call on hold
offers `sendonly` and is answered `recvonly`; `recvonly` is answered `sendonly`, `inactive`
`inactive`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Answer",
    "Codec",
    "NoCommonCodec",
    "SessionDescription",
    "answer_direction",
    "build_answer",
    "build_offer",
    "negotiate",
    "receives",
    "sends",
]

# RFC 3551 static payload types we speak, in our order of preference.
STATIC_CODECS = {0: "PCMU", 8: "PCMA"}
TELEPHONE_EVENT = "telephone-event"
DEFAULT_EVENT_PT = 101
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 3264 6.1: the direction of an answered stream, by the direction offered.
ANSWER_DIRECTIONS = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}


def answer_direction(offered: str) -> str:
    """The direction to answer an offered one with (RFC 3264 6.1); ValueError for a word
    that is not a direction."""
    try:
        return ANSWER_DIRECTIONS[offered]
    except KeyError:
        raise ValueError(f"unknown SDP direction {offered!r}") from None


def sends(direction: str) -> bool:
    """May the side whose SDP says `direction` send media? (RFC 3264 5.1)"""
    return direction in ("sendrecv", "sendonly")


def receives(direction: str) -> bool:
    """Does the side whose SDP says `direction` expect media? (RFC 3264 5.1)"""
    return direction in ("sendrecv", "recvonly")


class NoCommonCodec(ValueError):
    """The offer has no PCMU/PCMA; the call logic answers 400 (as LiveKit does)."""


@dataclass
class Codec:
    payload_type: int
    name: str
    clock_rate: int = 8000
    fmtp: str | None = None


@dataclass
class SessionDescription:
    """A parsed SDP body: session-level lines, and the first audio media section."""

    origin: str = "- 0 0 IN IP4 127.0.0.1"
    session_name: str = "-"
    connection: str | None = None  # address of c=IN IP4 <addr>
    audio_port: int = 0
    audio_proto: str = "RTP/AVP"
    payload_types: list[int] = field(default_factory=list)
    rtpmap: dict[int, tuple[str, int]] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"  # the audio stream's: its own attribute, else the session's
    ptime: int | None = None
    media_connection: str | None = None
    session_direction: str | None = None  # a direction attribute before the first m= line

    @staticmethod
    def parse(data: bytes) -> SessionDescription:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("SDP is not UTF-8") from None
        sd = SessionDescription()
        in_audio = False
        seen_audio = False
        media_direction: str | None = None
        for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
            line = raw.strip()
            if not line:
                continue
            if len(line) < 2 or line[1] != "=":
                raise ValueError(f"SDP line {number}: expected <type>=<value>")
            kind, value = line[0], line[2:]
            if kind == "o":
                sd.origin = value
            elif kind == "s":
                sd.session_name = value
            elif kind == "c":
                addr = _connection_address(value, number)
                if in_audio:
                    sd.media_connection = addr
                elif not seen_audio:
                    sd.connection = addr
            elif kind == "m":
                in_audio = False
                parts = value.split()
                if len(parts) < 3:
                    raise ValueError(f"SDP line {number}: invalid m= line")
                if parts[0] == "audio" and not seen_audio:
                    port_text = parts[1].split("/")[0]
                    if not port_text.isdigit() or int(port_text) > 65535:
                        raise ValueError(f"SDP line {number}: invalid port {parts[1]!r}")
                    sd.audio_port = int(port_text)
                    sd.audio_proto = parts[2]
                    try:
                        sd.payload_types = [int(p) for p in parts[3:]]
                    except ValueError:
                        raise ValueError(f"SDP line {number}: invalid payload type list") from None
                    in_audio = seen_audio = True
            elif kind == "a" and in_audio:
                _media_attribute(sd, value, number)
                if value in DIRECTIONS:
                    media_direction = value
            elif kind == "a" and not seen_audio and value in DIRECTIONS:
                sd.session_direction = value
        if not seen_audio:
            raise ValueError("SDP has no audio m= line")
        # RFC 4566 6: a session-level direction applies to every stream that names none.
        sd.direction = media_direction or sd.session_direction or "sendrecv"
        return sd

    @property
    def address(self) -> str | None:
        """Where to send RTP: media-level c= overrides session-level (RFC 4566 5.7)."""
        return self.media_connection or self.connection

    def codecs(self) -> list[Codec]:
        out = []
        for pt in self.payload_types:
            name, rate = self.rtpmap.get(pt, (STATIC_CODECS.get(pt, ""), 8000))
            out.append(Codec(pt, name, rate, self.fmtp.get(pt)))
        return out

    def __bytes__(self) -> bytes:
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        if self.connection:
            lines.append(f"c=IN IP4 {self.connection}")
        lines.append("t=0 0")
        if self.session_direction:
            lines.append(f"a={self.session_direction}")
        pts = " ".join(str(p) for p in self.payload_types)
        lines.append(f"m=audio {self.audio_port} {self.audio_proto} {pts}".rstrip())
        if self.media_connection:
            lines.append(f"c=IN IP4 {self.media_connection}")
        for pt in self.payload_types:
            if pt in self.rtpmap:
                name, rate = self.rtpmap[pt]
                lines.append(f"a=rtpmap:{pt} {name}/{rate}")
            if pt in self.fmtp:
                lines.append(f"a=fmtp:{pt} {self.fmtp[pt]}")
        if self.ptime is not None:
            lines.append(f"a=ptime:{self.ptime}")
        lines.append(f"a={self.direction}")
        return ("\r\n".join(lines) + "\r\n").encode()


def _connection_address(value: str, number: int) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise ValueError(f"SDP line {number}: invalid c= line")
    return parts[2].split("/")[0]


def _media_attribute(sd: SessionDescription, value: str, number: int) -> None:
    name, _, rest = value.partition(":")
    if name == "rtpmap":
        pt_text, _, enc = rest.partition(" ")
        codec, _, rate = enc.strip().partition("/")
        rate = rate.split("/")[0]
        if not pt_text.isdigit() or not rate.isdigit():
            raise ValueError(f"SDP line {number}: invalid rtpmap")
        sd.rtpmap[int(pt_text)] = (codec, int(rate))
    elif name == "fmtp":
        pt_text, _, params = rest.partition(" ")
        if not pt_text.isdigit():
            raise ValueError(f"SDP line {number}: invalid fmtp")
        sd.fmtp[int(pt_text)] = params.strip()
    elif name == "ptime" and rest.isdigit():
        sd.ptime = int(rest)


@dataclass
class Answer:
    """The negotiated stream: what we send, where, the DTMF payload type (or None), and the
    direction our answer gives (RFC 3264 6.1)."""

    codec: Codec
    event_payload_type: int | None
    remote_address: str | None
    remote_port: int
    direction: str = "sendrecv"


def _is(codec: Codec, name: str) -> bool:
    return codec.name.lower() == name.lower() and codec.clock_rate == 8000


def negotiate(offer: SessionDescription) -> Answer:
    """Pick the first offered codec we support (RFC 3264 6.1: keep the offerer's order).

    telephone-event/8000 is accepted when offered.  No common audio codec raises
    ``NoCommonCodec``.  The answer's direction mirrors the offer's (hold: `sendonly` ->
    `recvonly`).
    """
    codecs = offer.codecs()
    chosen = next(
        (c for c in codecs if any(_is(c, name) for name in STATIC_CODECS.values())),
        None,
    )
    if chosen is None:
        offered = " ".join(str(c.payload_type) for c in codecs) or "none"
        raise NoCommonCodec(f"no common codec in offer (offered: {offered})")
    event = next((c for c in codecs if _is(c, TELEPHONE_EVENT)), None)
    return Answer(
        codec=Codec(chosen.payload_type, chosen.name.upper(), 8000),
        event_payload_type=event.payload_type if event else None,
        remote_address=offer.address,
        remote_port=offer.audio_port,
        direction=answer_direction(offer.direction),
    )


def build_offer(address: str, port: int, session_id: int = 0, event_payload_type: int = DEFAULT_EVENT_PT) -> SessionDescription:
    """Our offer: PCMU, PCMA, telephone-event/8000 with events 0-16 (RFC 4733 7.1.1)."""
    return SessionDescription(
        origin=f"- {session_id} {session_id} IN IP4 {address}",
        connection=address,
        audio_port=port,
        payload_types=[0, 8, event_payload_type],
        rtpmap={0: ("PCMU", 8000), 8: ("PCMA", 8000), event_payload_type: (TELEPHONE_EVENT, 8000)},
        fmtp={event_payload_type: "0-16"},
        ptime=20,
    )


def build_answer(answer: Answer, address: str, port: int, session_id: int = 0,
                 version: int | None = None) -> SessionDescription:
    """The SDP answer for ``negotiate()``'s choice, keeping the offerer's payload numbers, in
    its direction. `version` is the origin's session version (RFC 4566 5.2; the session id
    unless given): a later answer in the same session that changed says one more (RFC 3264 8)."""
    pts = [answer.codec.payload_type]
    rtpmap = {answer.codec.payload_type: (answer.codec.name, 8000)}
    fmtp: dict[int, str] = {}
    if answer.event_payload_type is not None:
        pts.append(answer.event_payload_type)
        rtpmap[answer.event_payload_type] = (TELEPHONE_EVENT, 8000)
        fmtp[answer.event_payload_type] = "0-16"
    return SessionDescription(
        origin=f"- {session_id} {session_id if version is None else version} IN IP4 {address}",
        connection=address,
        audio_port=port,
        payload_types=pts,
        rtpmap=rtpmap,
        fmtp=fmtp,
        ptime=20,
        direction=answer.direction,
    )
