"""Re-INVITEs in an answered call: hold and resume (RFC 3261 14.2, RFC 3264 8).

LiveKit answers every re-INVITE with its previous SDP (docs/livekit.md#other-requests), so a
phone that puts the call on hold with `a=sendonly` is told `sendrecv`, which RFC 3264 6.1
forbids. The bridge answers the new offer instead: the codec and address it names, the same
RTP port, the direction mirrored (`sendonly` -> `recvonly`, `recvonly` -> `sendonly`,
`inactive` -> `inactive`) and the origin's version one higher whenever the description
changed (RFC 3264 8). Our RTP follows the direction (`RtpSession.set_direction`).

A re-INVITE without SDP gets the current description (the peer answers in its ACK). An offer
that does not parse or has no codec in common gets `488 Not Acceptable Here` and changes
nothing (RFC 3261 14.2).
"""

from __future__ import annotations

from sipconf.bridge.media import RtpSession
from sipconf.sip import sdp
from sipconf.sip.message import Request, Response, make_response
from sipconf.sip.status_lines import ANSWERED, OFFER_NOT_ACCEPTABLE

__all__ = ["MediaSession", "reinvite_response"]


class MediaSession:
    """Our half of one call's SDP (`sdp`: what we last sent) and the RTP it drives."""

    def __init__(self, rtp: RtpSession, host: str, description: bytes, session_id: int = 0) -> None:
        self.rtp = rtp
        self.host = host
        self.session_id = session_id
        self.version = session_id  # the origin's session version in `sdp`
        self.sdp = description

    def apply(self, chosen: sdp.Answer) -> None:
        """Send where, how and whether a negotiation says."""
        if chosen.remote_address and chosen.remote_port:
            self.rtp.start((chosen.remote_address, chosen.remote_port), chosen.codec.payload_type,
                           chosen.event_payload_type)
        self.rtp.set_direction(chosen.direction)

    def answer(self, offer: bytes) -> bytes:
        """Our answer to a new offer, now in force; ValueError (NoCommonCodec included) when
        the offer cannot be accepted, and then nothing changed."""
        chosen = sdp.negotiate(sdp.SessionDescription.parse(offer))
        body = self._describe(chosen)
        if body != self.sdp:
            self.version += 1
            body = self._describe(chosen)
        self.apply(chosen)
        self.sdp = body
        return body

    def _describe(self, chosen: sdp.Answer) -> bytes:
        return bytes(sdp.build_answer(chosen, self.host, self.rtp.port, self.session_id, self.version))


def reinvite_response(request: Request, media: MediaSession, contact: str) -> Response:
    """The final response to a re-INVITE of an answered call whose media is `media`."""
    if request.body:
        try:
            body = media.answer(request.body)
        except ValueError:
            return make_response(request, *OFFER_NOT_ACCEPTABLE)
    else:
        body = media.sdp
    response = make_response(request, *ANSWERED)
    response.add("Contact", contact)
    response.set_body(body, "application/sdp")
    return response
