"""`Callee`: the callee (UAS) role. It answers every INVITE as its `Script` says and records
what it was sent.

An INVITE gets 100 Trying at once; then, when the script asks for digest auth, a 401/407
challenge (403 for wrong credentials); then the script's status: a 2xx with an SDP answer
for the agent's RTP socket (488 when the offer has no codec in common), `ring` for a 180
held until the caller cancels (200 to the CANCEL, 487 to the INVITE, RFC 3261 9.2), or the
failure status as given. Inside an answered call its `Leg` answers. Outside one, BYE gets
481 (RFC 3261 15.1.2) and any other request 200.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sipconf.agent import auth, build
from sipconf.agent.build import Dialog
from sipconf.agent.leg import Leg
from sipconf.agent.transport import Address
from sipconf.sip.message import Request
from sipconf.sip.sdp import NoCommonCodec, SessionDescription, build_answer, negotiate

if TYPE_CHECKING:
    from sipconf.agent.agent import Agent

__all__ = ["Callee", "Script"]


@dataclass(frozen=True)
class Script:
    """How the callee answers."""

    status: int = 200  # the INVITE's final status
    reason: str | None = None  # its reason phrase (RFC 3261 21's when None)
    ring: bool = False  # 180, then hold the INVITE until it is cancelled
    challenge: int | None = None  # 401 or 407: ask for digest auth first, with `credentials`
    credentials: tuple[str, str] | None = None
    refer_status: int = 202  # the answer to a REFER
    notify: int | None = 200  # the sipfrag status of the NOTIFY after an accepted REFER (None: no NOTIFY)


class Callee:
    def __init__(self, agent: Agent, script: Script) -> None:
        self.agent = agent
        self.script = script
        self.tag = build.new_tag()
        self.methods: list[str] = []  # every request received, in order (retransmissions aside)
        self.invites: list[Request] = []  # the INVITEs answered with the script's status
        self.legs: dict[str, Leg] = {}  # answered calls, by Call-ID
        self.ended = asyncio.Event()  # an answered call was hung up
        self._ringing: dict[str, tuple[Request, Address]] = {}

    @property
    def invite(self) -> Request | None:
        return self.invites[-1] if self.invites else None

    @property
    def leg(self) -> Leg | None:
        """The call answered last."""
        return next(reversed(self.legs.values()), None)

    @property
    def digits(self) -> str:
        """The RFC 4733 digits the caller sent into the call answered last."""
        return self.leg.digits() if self.leg is not None else ""

    async def wait_digits(self, count: int, timeout: float) -> str:
        if self.leg is None:
            return ""
        return await self.agent.media.wait_digits(count, timeout, self.leg.dtmf_payload_type_in)

    def on_request(self, request: Request, addr: Address) -> None:
        self.methods.append(request.method)
        leg = self.legs.get(request.call_id)
        if leg is not None:
            leg.on_request(request, addr)
        elif request.method == "INVITE":
            self._on_invite(request, addr)
        elif request.method == "CANCEL":
            self._on_cancel(request, addr)
        elif request.method == "BYE":
            self.agent.reply(request, build.response(request, 481, tag=self.tag), addr)
        elif request.method != "ACK":
            self.agent.reply(request, build.response(request, 200, tag=self.tag), addr)

    def _respond(self, request: Request, status: int, addr: Address, **fields) -> None:
        self.agent.reply(request, build.response(request, status, tag=self.tag, **fields), addr)

    def _on_invite(self, invite: Request, addr: Address) -> None:
        script = self.script
        self._respond(invite, 100, addr)
        if script.challenge is not None and script.credentials is not None:
            verdict = auth.verify(script.challenge, invite, *script.credentials)
            if verdict is None:
                self._respond(invite, script.challenge, addr, headers=[auth.challenge(script.challenge, invite)])
                return
            if not verdict:
                self._respond(invite, 403, addr)
                return
        self.invites.append(invite)
        if script.ring:
            self._respond(invite, 180, addr)
            self._ringing[invite.call_id] = (invite, addr)
        elif script.status >= 300:
            self.agent.reply(invite, build.response(invite, script.status, script.reason, tag=self.tag), addr)
        else:
            self._accept(invite, addr)

    def _accept(self, invite: Request, addr: Address) -> None:
        try:
            chosen = negotiate(SessionDescription.parse(invite.body))
        except (ValueError, NoCommonCodec):
            self._respond(invite, 488, addr)
            return
        host, port = self.agent.media.address
        sdp = bytes(build_answer(chosen, host, port))
        ok = build.response(invite, self.script.status, self.script.reason, tag=self.tag,
                            headers=[("Contact", self.agent.contact)], body=sdp)
        leg = Leg(self.agent, addr, refer_status=self.script.refer_status, notify=self.script.notify, ended=self.ended)
        leg.established(Dialog.as_callee(invite, ok), sdp, invite.body)
        self.legs[invite.call_id] = leg
        self.agent.reply(invite, ok, addr)

    def _on_cancel(self, cancel: Request, addr: Address) -> None:
        ringing = self._ringing.get(cancel.call_id)
        if ringing is None or ringing[0].cseq.seq != cancel.cseq.seq or ringing[0].top_via.branch != cancel.top_via.branch:
            self._respond(cancel, 481, addr)
            return
        invite, invite_addr = self._ringing.pop(cancel.call_id)
        self._respond(cancel, 200, addr)
        self._respond(invite, 487, invite_addr)
