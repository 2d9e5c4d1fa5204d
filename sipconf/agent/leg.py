"""`Leg`: one call the agent is in, from either side, once it is answered: its dialog, the
peer's address, and how it answers the requests inside it (RFC 3261 12.2.2).

BYE ends the call (200); a REFER gets `refer_status` and, when accepted, a NOTIFY whose
message/sipfrag body reports `notify` as the referred call's status (RFC 3515 2.4.4,
2.4.5); anything else gets 200. The leg's own requests (BYE, INFO, any method) wait for
their final response; its digits go to the peer's RTP address as RFC 4733 events.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sipconf.agent import build
from sipconf.agent.build import Dialog
from sipconf.agent.transport import Address
from sipconf.sip.message import Request, Response
from sipconf.sip.sdp import DEFAULT_EVENT_PT, SessionDescription

if TYPE_CHECKING:
    from sipconf.agent.agent import Agent

__all__ = ["Leg", "event_payload_type"]


def event_payload_type(sdp: bytes) -> int | None:
    """The telephone-event payload type an SDP body names, if any (RFC 4733 7.1.1)."""
    try:
        codecs = SessionDescription.parse(sdp).codecs()
    except ValueError:
        return None
    return next((codec.payload_type for codec in codecs if codec.name.lower() == "telephone-event"), None)


class Leg:
    """An answered call. `ended` is set when either side hung up."""

    def __init__(self, agent: Agent, peer: Address, *, refer_status: int = 202, notify: int | None = 200,
                 ended: asyncio.Event | None = None) -> None:
        self.agent = agent
        self.peer = peer
        self.refer_status = refer_status
        self.notify = notify
        self.ended = ended or asyncio.Event()
        self.dialog: Dialog | None = None
        self.local_sdp = b""
        self.remote_rtp: Address | None = None
        self.dtmf_payload_type_out = DEFAULT_EVENT_PT  # as the peer's SDP names telephone-event
        self.dtmf_payload_type_in = DEFAULT_EVENT_PT  # as our SDP names it
        self.refer: Request | None = None  # the REFER received
        self.notify_request: Request | None = None  # the NOTIFY we sent about it

    def established(self, dialog: Dialog, local_sdp: bytes, remote_sdp: bytes) -> None:
        """The call is answered: keep the dialog and where the peer's media goes."""
        self.dialog = dialog
        self.local_sdp = local_sdp
        try:
            description = SessionDescription.parse(remote_sdp)
            self.remote_rtp = (description.address or self.peer[0], description.audio_port)
        except ValueError:
            self.remote_rtp = None
        self.dtmf_payload_type_out = event_payload_type(remote_sdp) or DEFAULT_EVENT_PT
        self.dtmf_payload_type_in = event_payload_type(local_sdp) or DEFAULT_EVENT_PT

    # -- what the peer sends ------------------------------------------------------------------

    def on_request(self, request: Request, addr: Address) -> None:
        if request.method == "ACK":
            return
        if request.method == "BYE":
            self.agent.reply(request, build.response(request, 200), addr)
            self.ended.set()
        elif request.method == "REFER":
            self._on_refer(request, addr)
        elif request.method == "INVITE":
            # A re-INVITE (RFC 3261 14.2): the session stays as it is.
            self.agent.reply(request, build.response(request, 200, headers=[("Contact", self.agent.contact)],
                                                     body=self.local_sdp), addr)
        else:
            self.agent.reply(request, build.response(request, 200), addr)

    def _on_refer(self, refer: Request, addr: Address) -> None:
        self.refer = refer
        self.agent.reply(refer, build.response(refer, self.refer_status), addr)
        if self.refer_status >= 300 or self.notify is None or self.dialog is None:
            return
        self.notify_request = self.dialog.request(
            "NOTIFY", self.agent.via, [("Event", "refer"), ("Subscription-State", "terminated;reason=noresource")],
            body=build.sipfrag(self.notify), content_type="message/sipfrag;version=2.0")
        self.agent.send(self.notify_request, addr)

    @property
    def refer_to(self) -> str | None:
        """The REFER's target, without its angle brackets."""
        if self.refer is None:
            return None
        return (self.refer.get("refer-to") or "").strip().strip("<>")

    @property
    def notify_answer(self) -> int | None:
        """The final status the peer gave our NOTIFY, once it came."""
        if self.notify_request is None:
            return None
        finals = [r.status for r in self.agent.responses_to(self.notify_request) if r.status >= 200]
        return finals[0] if finals else None

    # -- what we send -------------------------------------------------------------------------

    async def send_request(self, method: str, headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                           content_type: str | None = None, timeout: float = 4.0) -> Response | None:
        """A request inside the call; its final response, or None when none came in time."""
        if self.dialog is None:
            raise ValueError(f"no {method} before the call is answered")
        request = self.dialog.request(method, self.agent.via, headers, body, content_type)
        self.agent.send(request, self.peer)
        try:
            return await self.agent.final_to(request, timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return None

    async def bye(self, headers: list[tuple[str, str]] | None = None, timeout: float = 4.0) -> Response | None:
        final = await self.send_request("BYE", headers, timeout=timeout)
        self.ended.set()
        return final

    async def info(self, digit: str, duration_ms: int = 100, timeout: float = 4.0) -> Response | None:
        """A digit as SIP INFO (application/dtmf-relay), which LiveKit does not support."""
        body = f"Signal={digit}\r\nDuration={duration_ms}\r\n".encode()
        return await self.send_request("INFO", body=body, content_type="application/dtmf-relay", timeout=timeout)

    async def send_digits(self, digits: str, duration_ms: int = 100, gap_ms: int = 50) -> None:
        """RFC 4733 events to the peer's RTP address, with the payload type its SDP named."""
        if self.remote_rtp is None:
            raise ValueError("the peer's SDP gave no RTP address to send digits to")
        await self.agent.media.send_digits(digits, self.remote_rtp, duration_ms, gap_ms, self.dtmf_payload_type_out)

    def digits(self) -> str:
        """The RFC 4733 digits the peer sent us, by the payload type of our SDP."""
        return self.agent.media.digits(self.dtmf_payload_type_in)

    async def wait_ended(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.ended.wait(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return False
        return True
