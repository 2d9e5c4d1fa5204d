"""Cold transfer with REFER (RFC 3515) and NOTIFY sipfrag (RFC 3420), as LiveKit does it.

docs/livekit.md#refer-flow: one transfer per call; in-dialog REFER whose Refer-To is `transfer_to`
verbatim, plus Allow, Max-Forwards, Contact, the request headers and attributes_to_headers;
200/202 -> wait for NOTIFY; final NOTIFY 200 -> success; other non-1xx NOTIFY -> failure
with that status; the call ending first -> success; timeout -> canceled `refer canceled`.
Success: wait 1 s for the peer's BYE, else send BYE. Failure: no BYE, the call goes on.
docs/livekit.md#notify: each NOTIFY is parsed by `routing.notify` and answered with `notify_answer`.
"""

from __future__ import annotations

import asyncio
import logging

from livekit.protocol import sip as sip_pb

from sipconf.bridge.calls.signalling import duration_seconds, sleep
from sipconf.sip.message import Request
from sipconf.routing import errors
from sipconf.routing.attributes import headers_from_attributes
from sipconf.routing.errors import LiveKitError
from sipconf.outbound.notify import handle_notify, notify_answer, notify_outcome
from sipconf.outbound.sipstatus import SIPStatus, sip_status_to_grpc
from sipconf.validation.transfer import normalize_transfer_to
from sipconf.sip.status_lines import CALL_DOES_NOT_EXIST

log = logging.getLogger("sipconf.bridge.calls.transfer")

ALLOW = "INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE"
RPC_TIMEOUT = 30.0  # docs/livekit.md#transfer-validation: "RPC timeout = ringing_timeout or 30 s"


def transfer_failed(code: int, reason: str) -> LiveKitError:
    """`call transfer failed: sip status: <code>: <reason>`, coded by the SIP status table, with
    meta (docs/livekit.md#refer-flow, #sip-status-codes)."""
    status = SIPStatus(code, reason)
    _, twirp, _ = sip_status_to_grpc(code, reason)
    return LiveKitError(twirp or errors.UNKNOWN, f"call transfer failed: {status}", status.twirp_meta())


class Transfer:
    """One REFER on one answered call; `outcome` resolves to None (success) or an error."""

    def __init__(self, net, call, transfer_to: str, headers: dict[str, str], timeout: float) -> None:
        self.net = net
        self.call = call
        self.transfer_to = transfer_to
        self.headers = dict(headers)
        self.timeout = timeout
        self.refer_cseq = 0
        self.refer: Request | None = None
        self.bye_sent = False
        self.outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task | None = None

    def _settle(self, error: LiveKitError | None) -> None:
        if self.outcome.done():
            return
        if error is None:
            self.outcome.set_result(None)
        else:
            self.outcome.set_exception(error)

    async def run(self) -> None:
        call = self.call
        headers = [("Refer-To", self.transfer_to), ("Allow", ALLOW)]
        headers += list(self.headers.items())
        headers += list(headers_from_attributes(call.attributes_to_headers, call.attributes).items())
        timer = self.net.clock.call_later(self.timeout, lambda: self._settle(LiveKitError(errors.CANCELED, "refer canceled")))
        try:
            source = await self.net.source_for(call.dialog.next_hop, call.source)
            refer = call.dialog.create_request("REFER", self.net.via(source.transport), headers)
            self.refer = refer
            self.refer_cseq = refer.cseq.seq
            try:
                resp = await self.net.request(refer, source)
            except Exception:
                resp = None
            if resp is None:
                if not call.ended.is_set():
                    self._settle(LiveKitError(errors.CANCELED, "refer canceled"))
            elif resp.status not in (200, 202):
                self._settle(transfer_failed(resp.status, resp.reason))
            if call.ended.is_set():
                self._settle(None)  # the call ended first: LiveKit reports success
            try:
                await asyncio.shield(self.outcome)
            except LiveKitError:
                return
            # Success: LiveKit waits 1 s for the peer's BYE, else sends BYE.
            if not call.ended.is_set():
                ended = asyncio.ensure_future(call.ended.wait())
                waited = sleep(self.net.clock, self.net.transfer_bye_wait)
                await asyncio.wait([ended, waited], return_when=asyncio.FIRST_COMPLETED)
                ended.cancel()
                waited.cancel()
                if not call.ended.is_set():
                    self.bye_sent = True
                    call.hangup("transferred")
        finally:
            timer.cancel()
            self._log_outcome()
            if call.transfer is self and self.outcome.done() and self.outcome.exception() is not None:
                call.transfer = None  # a failed transfer leaves the call as it was

    def _log_outcome(self) -> None:
        if not self.outcome.done():
            result = "interrupted"
        elif self.outcome.cancelled():
            result = "cancelled"
        elif self.outcome.exception() is not None:
            result = f"failed: {self.outcome.exception()}"
        else:
            result = "success" + (", BYE sent" if self.bye_sent else "")
        log.info("transfer of call %s to %s: %s", self.call.sip_call_id, self.transfer_to, result)

    def on_notify(self, result) -> None:
        verdict = notify_outcome(result, self.refer_cseq)
        if verdict == "success":
            self._settle(None)
        elif verdict == "fail":
            self._settle(transfer_failed(result.status, result.reason))

    def remote_hangup(self) -> None:
        self._settle(None)


def answer_notify(call, request: Request) -> tuple[int, str]:
    """Parse and apply a NOTIFY; the (status, reason) LiveKit answers with
    (docs/livekit.md#notify)."""
    if call is None:
        return CALL_DOES_NOT_EXIST
    try:
        result = handle_notify(request.headers, request.body.decode("utf-8", errors="replace"))
    except LiveKitError as err:
        return notify_answer(err)
    pending = getattr(call, "transfer", None)
    if pending is not None:
        pending.on_notify(result)
    return notify_answer(None)


async def start_transfer(net, call, transfer_to: str, headers: dict[str, str], timeout: float) -> Transfer:
    """The SIP service's part (docs/livekit.md#refer-flow), with `transfer_to` used verbatim."""
    if call is None:
        raise LiveKitError(errors.NOT_FOUND, "unknown call")
    existing = call.transfer
    if existing is not None:
        if existing.transfer_to != transfer_to:
            raise LiveKitError(errors.INVALID_ARGUMENT, "call already being transferred elsewhere")
        return existing
    if not call.answered or call.ended.is_set():
        raise LiveKitError(errors.FAILED_PRECONDITION, "can't transfer non established call")
    xfer = Transfer(net, call, transfer_to, headers, timeout)
    call.transfer = xfer
    xfer.task = net.spawn(xfer.run())
    return xfer


async def transfer(net, call, req: sip_pb.TransferSIPParticipantRequest) -> None:
    """TransferSIPParticipant: the API's normalised `transfer_to`, then the REFER flow
    (docs/livekit.md#refer-flow); returns on success, raises LiveKitError otherwise."""
    transfer_to, problem = normalize_transfer_to(req.transfer_to)
    if problem:
        raise LiveKitError(errors.INVALID_ARGUMENT, problem)
    trunk = getattr(call, "trunk", None)
    timeout = duration_seconds(getattr(trunk, "ringing_timeout", None), RPC_TIMEOUT)
    xfer = await start_transfer(net, call, transfer_to, dict(req.headers), timeout)
    await asyncio.shield(xfer.outcome)
    if xfer.task is not None:
        await asyncio.shield(xfer.task)  # the 1 s BYE wait happens before the API returns
