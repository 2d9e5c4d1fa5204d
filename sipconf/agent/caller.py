"""`Call`: the caller (UAC) role, one call placed by the agent.

The INVITE goes out with an SDP offer for the agent's RTP socket; a 401 or 407 is answered
once with digest credentials (RFC 3261 22.2, a new INVITE with the next CSeq); every final
response is ACKed: a 2xx in its dialog with a new branch (RFC 3261 13.2.2.4), anything else
in the INVITE's transaction (RFC 3261 17.1.1.3). A ringing call can be cancelled (RFC 3261 9.1).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from sipconf.agent import build
from sipconf.agent.build import Dialog, answers
from sipconf.agent.leg import Leg
from sipconf.agent.transport import Address
from sipconf.sip.digest import answer_challenge, challenge_headers
from sipconf.sip.message import Request, Response

if TYPE_CHECKING:
    from sipconf.agent.agent import Agent

__all__ = ["Call"]


class Call(Leg):
    """A call placed by `agent.call(...)`. `final` is the INVITE's final response (None
    while there is none); once it is a 2xx the call is a `Leg` (bye, info, digits)."""

    def __init__(self, agent: Agent, target: Address, from_user: str, to_user: str, *,
                 headers: list[tuple[str, str]], credentials: tuple[str, str] | None, from_host: str | None) -> None:
        super().__init__(agent, target)
        self.from_user, self.to_user, self.from_host = from_user, to_user, from_host
        self.headers = headers
        self.credentials = credentials
        self.call_id = f"{secrets.token_hex(8)}@agent.sipconf.test"
        self.from_tag = build.new_tag()
        self.invites: list[Request] = []
        self.final: Response | None = None

    @property
    def answered(self) -> bool:
        return self.final is not None and self.final.status < 300

    @property
    def pending(self) -> Request | None:
        """The INVITE still waiting for its final response."""
        return self.invites[-1] if self.invites and self.final is None else None

    async def invite(self, malformed: str | None = None, ringing: bool = False, timeout: float = 8.0) -> Response | None:
        """INVITE until a final response (or, with `ringing`, a provisional above 100)."""
        authorization: tuple[str, str] | None = None
        while True:
            invite = self.agent.invite(self.peer, self.from_user, self.to_user, call_id=self.call_id,
                                       from_tag=self.from_tag, cseq=len(self.invites) + 1,
                                       headers=[*self.headers, *([authorization] if authorization else [])],
                                       from_host=self.from_host)
            self.invites.append(invite)
            mark = len(self.agent.messages)
            data = bytes(invite)
            self.agent.send(build.malform(data, malformed) if malformed else data, self.peer)
            response = await self._response(invite, mark, ringing, timeout)
            if response is None or response.status < 200:
                return response
            self._finish(invite, response)
            if response.status in (401, 407) and self.credentials is not None and authorization is None:
                challenge_name, credentials_name = challenge_headers(response.status)
                challenge = response.get(challenge_name)
                if challenge is not None:
                    self.final = None  # the retried INVITE gets its own
                    authorization = (credentials_name, answer_challenge(challenge, "INVITE", invite.uri,
                                                                        *self.credentials))
                    continue
            return response

    async def _response(self, invite: Request, start: int, ringing: bool, timeout: float) -> Response | None:
        def wanted(message) -> bool:
            return (isinstance(message, Response) and answers(invite, message)
                    and (message.status >= 200 or (ringing and message.status > 100)))

        try:
            response, _ = await self.agent.wait_for(wanted, timeout, start=start)
        except (asyncio.TimeoutError, TimeoutError):
            return None
        return response

    def _finish(self, invite: Request, final: Response) -> None:
        """ACK the final response; a 2xx makes the call a dialog with media."""
        self.final = final
        if final.status >= 300:
            self.agent.send(build.ack_for_failure(invite, final), self.peer)
            return
        dialog = Dialog.as_caller(invite, final)
        self.agent.send(dialog.request("ACK", self.agent.via, cseq=invite.cseq.seq), self.peer)
        self.established(dialog, invite.body, final.body)

    async def cancel(self, timeout: float = 4.0) -> Response | None:
        """CANCEL the pending INVITE; returns the INVITE's final response (487 when the
        cancel won), or None when none came."""
        invite = self.pending
        if invite is None:
            raise ValueError("there is no pending INVITE to cancel")
        self.agent.send(build.cancel_for(invite), self.peer)
        # From the start of the log: the final may have crossed the CANCEL.
        final = await self._response(invite, 0, False, timeout)
        if final is not None:
            self._finish(invite, final)
        return final
