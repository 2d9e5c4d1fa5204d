"""One inbound call, from the INVITE to the hang-up, as LiveKit's SIP service handles it.

The inputs (docs/livekit.md#inbound-inputs), the auth step and digest (#auth-step), dispatch
outcomes, the answer and the media timeout (#dispatch-outcomes), the PIN flow (#pin-flow), the
replay cache (#replay-cache) and BYE (#other-requests). The decisions come from a `DecisionLayer`;
the SIP stack is reached through `Signalling`. States are an enum and every change goes through
`_set_state`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from livekit.protocol import sip as sip_pb

from sipconf.sip import sdp
from sipconf.bridge.backoff import BACKED_OFF, Backoff
from sipconf.bridge.dialog import Dialog, copy_record_route, new_tag
from sipconf.bridge.log_lines import labelled
from sipconf.sip.digest import DigestServer, credentials_username
from sipconf.sip.headers import NameAddr
from sipconf.bridge.media import RtpSession
from sipconf.sip.message import Request, Response, make_response
from sipconf.bridge.transaction import InviteServerTransaction
from sipconf.bridge.transport import Source
from sipconf.bridge.calls.decisions import DecisionLayer, media_timeout_of
from sipconf.bridge.calls.media_timeout import MediaWatch, timeouts
from sipconf.bridge.calls.pin import PinCollector, PinEntry
from sipconf.bridge.calls.reinvite import MediaSession, reinvite_response
from sipconf.bridge.calls.replay import ReplayCache
from sipconf.bridge.calls.signalling import Signalling, duration_seconds, sleep
from sipconf.bridge.ports import ParticipantJoin
from sipconf.routing import ids
from sipconf.routing.attributes import CALL_STATUS, headers_from_attributes, sip_attributes
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import LiveKitError
from sipconf.outbound.reason import Reason, parse_reason
from sipconf.routing.route import DEFAULT_REALM, AuthStep, Outcome, auth_refusal
from sipconf.routing.trace import Decision
from sipconf.sip.status_lines import (
    ANSWERED,
    BAD_SDP,
    INTERNAL_ERROR,
    MEDIA_FAILED,
    PROCESSING,
    REJECTED,
    RINGING,
    SHUTTING_DOWN,
    TERMINATED,
    TRY_AGAIN,
    UNEXPECTED_RESULT,
)

log = logging.getLogger("sipconf.bridge.calls.inbound")

RING_INTERVAL = 1.0  # sip_ringing_interval
RINGING_TIMEOUT = 180.0  # docs/livekit.md#dispatch-outcomes: "at most ringing_timeout (default 3 min)"
MAX_CALL = 24 * 3600.0  # "max_call_duration defaults to and is capped at 24 h"


class State(enum.Enum):
    RECEIVED = "received"
    RINGING = "ringing"
    PIN = "pin"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass
class InboundConfig:
    """What the bridge's options and shared state give every inbound call."""

    decisions: DecisionLayer
    replay: ReplayCache
    digest: DigestServer
    backoff: Backoff
    hide_inbound_port: bool = False
    ring_delay: float = 0.0
    dtmf_info: bool = False
    call_ids: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)  # (Call-ID, From tag) -> SCL id


def facts_of(invite: Request, src_ip: str, sip_call_id: str) -> CallFacts:
    """Calling number = From user, called = To user, host = From host, source IP
    (docs/livekit.md#inbound-inputs)."""
    from_, to = invite.from_, invite.to
    return CallFacts(
        from_user=from_.uri.user or "",
        to_user=to.uri.user or "",
        from_host=from_.uri.host,
        src_ip=src_ip,
        sip_call_id=sip_call_id,
        call_id_full=invite.call_id,
        from_tag=from_.tag or "",
        headers=tuple(invite.headers),
    )


def valid_invite(invite: Request) -> bool:
    """A non-empty Call-ID, a From with a non-empty tag, and a To
    (docs/livekit.md#inbound-inputs)."""
    try:
        return bool(invite.get("call-id", "").strip()) and bool(invite.from_.tag) and invite.get("to") is not None \
            and invite.to is not None
    except ValueError:
        return False


class InboundCall:
    """Drive one INVITE: `run()` until the INVITE is finalised, then the dialog lives on."""

    def __init__(self, net: Signalling, cfg: InboundConfig, invite: Request, tx: InviteServerTransaction,
                 source: Source) -> None:
        self.net = net
        self.cfg = cfg
        self.invite = invite
        self.tx = tx
        self.source = source
        self.state = State.RECEIVED
        self.settled = asyncio.Event()  # the INVITE got its final response, or was dropped
        self.ended = asyncio.Event()
        self.from_tag = invite.from_.tag or ""
        key = (invite.call_id, self.from_tag)
        # docs/livekit.md#auth-step: "The SCL_ id is remembered for (Call-ID, From-tag) so the retry
        # keeps it."
        self.sip_call_id = cfg.call_ids.get(key) or ids.new_id(ids.CALL)
        self.local_tag = self.sip_call_id  # docs/livekit.md#ids: "The inbound SCL_ id is LiveKit's To-tag"
        self.facts = facts_of(invite, source.addr[0], self.sip_call_id)
        self.trunk: sip_pb.SIPInboundTrunkInfo | None = None
        self.room: str | None = None
        self.identity: str | None = None
        self.attributes: dict[str, str] = {}
        self._dialog: Dialog | None = None
        self._dialog_from: tuple[Request, Response, str] | None = None  # what the dialog is built from
        self.rtp: RtpSession | None = None
        self.media: MediaSession | None = None  # our SDP and its RTP, renegotiated by re-INVITEs
        self.media_timeout: float | None = None  # from the join (docs/livekit.md#media-merge), else 15 s / 30 s
        self._media_watch: MediaWatch | None = None
        self.answer_sdp: bytes = b""
        self.responses: list[int] = []  # every status we sent for this INVITE
        self.bye_reason: Reason | None = None
        self.transfer = None  # sipconf.bridge.calls.transfer.Transfer while one runs
        self.on_end: list[Callable[[], None]] = []
        self.on_settled: list[Callable[[], None]] = []  # called once, when `settled` is set
        self._pin: PinCollector | None = None
        self._pin_done: asyncio.Future[PinEntry] | None = None
        self._ring_timer = None
        self._timers: list = []
        self.task: asyncio.Task | None = None
        self.bye_task: asyncio.Task | None = None  # our BYE's client transaction, once sent
        self.started = net.clock.now()
        self.final: tuple[int, str] | None = None  # the INVITE's final response
        self.rule_id = ""
        self.rule_name = ""  # the rule's LiveKit name (its spec name), for the outcome log line
        self.end_reason = ""  # why the call ended, for the outcome log line

    # -- state ---------------------------------------------------------------------------

    def _set_state(self, new: State) -> None:
        if new is self.state:
            return
        log.debug("call %s: %s -> %s", self.sip_call_id, self.state.value, new.value)
        self.state = new

    @property
    def attributes_to_headers(self) -> dict[str, str]:
        return dict(self.trunk.attributes_to_headers) if self.trunk is not None else {}

    @property
    def dialog(self) -> Dialog | None:
        """The dialog our 2xx created (None before the answer). Built when first asked for:
        most calls end with the caller's BYE, which needs only the dialog's key."""
        if self._dialog is None and self._dialog_from is not None:
            self._dialog = _uas_dialog(*self._dialog_from)
            self._dialog_from = None
        return self._dialog

    @property
    def answered(self) -> bool:
        return self.state in (State.PIN, State.ACTIVE) and self.dialog is not None

    # -- responses -----------------------------------------------------------------------

    def _respond(self, status: int, reason: str, headers=(), body: bytes = b"", cache: bool = False) -> None:
        if self.settled.is_set() and status >= 200:
            return
        resp = make_response(self.invite, status, reason, to_tag=self.local_tag if status > 100 else None)
        if 100 < status < 300:
            copy_record_route(self.invite, resp)
        for name, value in headers:
            resp.add(name, value)
        if body:
            resp.set_body(body, "application/sdp")
        try:
            self.tx.respond(resp)
        except ValueError:
            return  # the transaction already ended (CANCEL raced us)
        self.responses.append(status)
        if status >= 200:
            self.final = (status, reason)
            self._stop_ringing()
            if cache:
                self.cfg.replay.put(self.invite.call_id, self.from_tag, status, reason)
            self._settle()
            if status >= 300:
                self._finish()
            return
        return

    def _settle(self) -> None:
        self.settled.set()
        # Each callback once; then let go of them (they hold this call: a cycle otherwise).
        callbacks, self.on_settled = self.on_settled, []
        for callback in callbacks:
            callback()

    def _drop(self) -> None:
        """No final response at all (AuthDrop, DispatchNoRuleDrop): forget the INVITE."""
        self.end_reason = self.end_reason or "dropped without response"
        self._stop_ringing()
        self._settle()
        self._finish()

    # -- the INVITE ----------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            if not self.settled.is_set():
                self._drop()
            raise
        except Exception:
            log.exception("call %s failed", self.sip_call_id)
            self._respond(*INTERNAL_ERROR)
            self._finish()

    async def _run(self) -> None:
        cached = self.cfg.replay.get(self.invite.call_id, self.from_tag)
        if cached is not None:
            self._respond(*cached)  # docs/livekit.md#replay-cache: at once, no 100, no decision calls
            return
        if not self.cfg.hide_inbound_port:
            self._respond(*PROCESSING)
        if not await self._authenticate():
            return
        self._set_state(State.RINGING)
        self._respond(*RINGING)
        self._ring_timer = self.net.clock.call_later(RING_INTERVAL, self._ring_again)
        outcome = self._dispatch(self.facts)
        if outcome.trunk is not None:
            self.trunk = outcome.trunk
        if outcome.action == "drop":
            self._drop()
        elif outcome.action == "accept" and outcome.evaluation is not None:
            if await self._start_media():
                await self._accept(outcome)
        elif outcome.action == "request_pin":
            if await self._start_media():
                await self._pin_flow()
        elif outcome.status is not None and outcome.status >= 300:  # reject, or the lookup failed
            self._respond(outcome.status, outcome.reason, cache=True)
        else:
            self._respond(*UNEXPECTED_RESULT, cache=True)

    def _dispatch(self, facts: CallFacts) -> Outcome:
        """The decision layer's dispatch outcome; a layer that raises failed as an RPC does."""
        try:
            decided = self.cfg.decisions.dispatch(facts, self.trunk.sip_trunk_id if self.trunk else "")
        except Exception as err:
            decided = Decision(Outcome("error", *TRY_AGAIN), LiveKitError("", str(err)))
        if decided.value.action == "error":
            log.debug("call %s: dispatch failed: %s", self.sip_call_id, decided.error)
            self.end_reason = "dispatch failed"
        return decided.value

    async def _authenticate(self) -> bool:
        try:
            decided = self.cfg.decisions.authenticate(self.facts)
        except Exception as err:  # a layer that raises failed as an RPC does
            decided = Decision(AuthStep("error"), LiveKitError("", str(err)))
        auth = decided.value
        if auth.result == "error":
            log.debug("call %s: auth failed: %s", self.sip_call_id, decided.error)
            self.end_reason = "auth lookup failed"
        self.trunk = auth.trunk
        refused = auth_refusal(auth)
        if refused is not None:
            if refused.status is None:
                self._drop()
            else:
                self._respond(refused.status, refused.reason, cache=True)
            return False
        if auth.result == "password":
            if self.cfg.hide_inbound_port:
                self._respond(*PROCESSING)  # docs/livekit.md#auth-step: then only in the password case
            if not self._digest(auth):
                return False
        return True

    def _digest(self, auth: AuthStep) -> bool:
        """The digest handshake (docs/livekit.md#auth-step), behind the back-off: while the
        (source, username) pair is backed off its answer is not even checked."""
        source_ip = self.source.addr[0]
        username = credentials_username(self.invite)
        if username is not None:
            wait = self.cfg.backoff.retry_after(source_ip, username)
            if wait is not None:
                self.end_reason = "digest back-off"
                self._respond(*BACKED_OFF, [("Retry-After", str(wait))])
                return False
        verdict = self.cfg.digest.check(self.invite, auth.username, auth.password, auth.realm or DEFAULT_REALM)
        if username is not None and verdict.wrong_answer:
            self.cfg.backoff.failed(source_ip, username)
        elif username is not None and verdict.accepted:
            self.cfg.backoff.succeeded(source_ip, username)
        if not verdict.accepted:
            self.cfg.call_ids[(self.invite.call_id, self.from_tag)] = self.sip_call_id
            while len(self.cfg.call_ids) > 500:
                self.cfg.call_ids.popitem(last=False)
            self._respond(verdict.status, verdict.reason, [verdict.header] if verdict.header else [])
            return False
        return True

    def _ring_again(self) -> None:
        # docs/livekit.md#dispatch-outcomes: 180 "repeated every sip_ringing_interval ... until the
        # INVITE is finalised".
        if self.settled.is_set() or self.state is not State.RINGING:
            return
        self._respond(*RINGING)
        self._ring_timer = self.net.clock.call_later(RING_INTERVAL, self._ring_again)

    def _stop_ringing(self) -> None:
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None

    async def _start_media(self) -> bool:
        """SDP offer/answer and one RTP port (docs/livekit.md#dispatch-outcomes: bad SDP -> 400,
        other media failure -> 500)."""
        try:
            offer = sdp.SessionDescription.parse(self.invite.body)
            chosen = sdp.negotiate(offer)
        except ValueError:
            self._respond(*BAD_SDP, cache=True)
            return False
        try:
            self.rtp = RtpSession(self.net.clock, on_digit=self.on_digit, allow_external=self.net.allow_external_dial)
            port = await self.rtp.open()
        except OSError:
            self._respond(*MEDIA_FAILED, cache=True)
            return False
        host = self.net.via("UDP").rsplit(" ", 1)[1].rsplit(":", 1)[0]
        self.answer_sdp = bytes(sdp.build_answer(chosen, host, port))
        self.media = MediaSession(self.rtp, host, self.answer_sdp)
        self.media.apply(chosen)
        return True

    def _trunk_headers(self) -> list[tuple[str, str]]:
        """200 OK extras: trunk `headers` and `attributes_to_headers` values
        (docs/livekit.md#dispatch-outcomes)."""
        if self.trunk is None:
            return []
        out = list(self.trunk.headers.items())
        out += list(headers_from_attributes(self.trunk.attributes_to_headers, self.attributes).items())
        return out

    def _answer(self) -> None:
        headers = [("Contact", self.net.contact(self.source.transport)), *self._trunk_headers()]
        resp = make_response(self.invite, *ANSWERED, to_tag=self.local_tag)
        copy_record_route(self.invite, resp)
        for name, value in headers:
            resp.add(name, value)
        resp.set_body(self.answer_sdp, "application/sdp")
        if self.settled.is_set():
            return
        self.tx.respond(resp)
        self.responses.append(200)
        self.final = ANSWERED
        self._stop_ringing()
        self._settle()
        self._dialog_from = (self.invite, resp, self.net.contact(self.source.transport))
        self.net.bind(self, dialog_key=(self.invite.call_id, self.local_tag))
        limit = duration_seconds(self.trunk.max_call_duration if self.trunk else None, MAX_CALL, MAX_CALL)
        self._timers.append(self.net.clock.call_later(limit, lambda: self.hangup("max call duration")))
        if self.rtp is not None:
            self._media_watch = MediaWatch(self.net.clock, self.rtp, self._media_timeouts,
                                           lambda: self.hangup("media timeout"))

    def _media_timeouts(self) -> tuple[float, float]:
        """(timeout, initial): the merged `media.media_timeout` for both when set
        (docs/livekit.md#media-merge, the rule's evaluation; before a PIN join, the trunk's), else
        LiveKit's 15 s / 30 s (docs/livekit.md#dispatch-outcomes)."""
        value = self.media_timeout
        if value is None and self.trunk is not None:
            value = media_timeout_of(self.trunk.media if self.trunk.HasField("media") else None)
        return timeouts(value)

    async def _accept(self, outcome: Outcome) -> None:
        self._join(outcome, status="ringing")
        timeout = duration_seconds(self.trunk.ringing_timeout if self.trunk else None, RINGING_TIMEOUT)
        if self.cfg.ring_delay >= timeout:
            await sleep(self.net.clock, timeout)
            self._respond(*REJECTED)  # docs/livekit.md#dispatch-outcomes: 486 on timeout
            return
        if self.cfg.ring_delay > 0:
            await sleep(self.net.clock, self.cfg.ring_delay)
        self._answer()
        self._set_state(State.ACTIVE)
        self._set_attributes({CALL_STATUS: "active"})

    def _join(self, outcome: Outcome, status: str) -> None:
        """The accepted call's participant joins the room the rule evaluation chose."""
        joined = outcome.evaluation
        self.media_timeout = media_timeout_of(joined.media)
        self.rule_id = joined.sip_dispatch_rule_id or self.rule_id
        if outcome.rule is not None and outcome.rule.sip_dispatch_rule_id == self.rule_id:
            self.rule_name = outcome.rule.name
        attrs = dict(outcome.attributes) or sip_attributes(
            {"sip.callID": self.sip_call_id}, self.trunk, self.facts.headers,
            from_tag=self.from_tag, call_id_full=self.invite.call_id, call_status=status)
        attrs[CALL_STATUS] = status
        self.attributes = attrs
        self.room, self.identity = joined.room_name, joined.participant_identity
        self.net.participant_sink.join(ParticipantJoin(joined.room_name, joined.participant_identity,
                                                       joined.participant_name, joined.participant_metadata, attrs))
        self.net.bind(self, participant=(joined.room_name, joined.participant_identity))

    def _set_attributes(self, changes: dict[str, str]) -> None:
        self.attributes.update(changes)
        if self.room is not None and self.identity is not None:
            # False when the API removed the participant meanwhile: the call is ending anyway.
            self.net.participant_sink.update_attributes(self.room, self.identity, changes)

    # -- PIN flow (docs/livekit.md#pin-flow) -----------------------------------------------

    async def _pin_flow(self) -> None:
        self._answer()  # "the call is answered at once"
        self._set_state(State.PIN)
        self._pin = PinCollector()
        self._pin_done = asyncio.get_running_loop().create_future()
        entry = await self._pin_done
        if entry.too_long:
            self.hangup("wrong PIN")
            return
        outcome = self._dispatch(self.facts.with_pin(entry.pin, entry.no_pin))
        if outcome.action == "error":
            self.hangup("PIN dispatch failed")  # an RPC error -> BYE without prompt
            return
        if outcome.action != "accept" or outcome.evaluation is None or not outcome.evaluation.room_name:
            self.hangup("wrong PIN")
            return
        if outcome.trunk is not None:
            self.trunk = outcome.trunk
        self._join(outcome, status="active")  # "participant joins with sip.callStatus=active"
        self._set_state(State.ACTIVE)

    def on_digit(self, digit: str) -> None:
        """An RFC 4733 digit from our RTP port (or a SIP INFO one with --dtmf-info)."""
        if self._pin is None or self._pin_done is None or self._pin_done.done():
            return
        entry = self._pin.feed(digit)
        if entry is not None:
            self._pin_done.set_result(entry)

    @property
    def collecting_pin(self) -> bool:
        return self._pin_done is not None and not self._pin_done.done()

    # -- requests from the peer ----------------------------------------------------------

    def cancel(self) -> None:
        """CANCEL before the answer: 487 for the INVITE (the server answered the CANCEL)."""
        if self.settled.is_set():
            return
        self.end_reason = "cancelled by caller"
        self._respond(*TERMINATED)
        if self.task is not None:
            self.task.cancel()
        self._finish()

    def on_bye(self, request: Request) -> None:
        """The caller hung up: parse its Reason (docs/livekit.md#reason-header) and remove the
        participant."""
        value = request.get("reason")
        if value is not None:
            try:
                self.bye_reason = parse_reason(value)
            except ValueError:
                self.bye_reason = None
        self.end_reason = "caller hung up"
        if self.bye_reason is not None and not self.bye_reason.is_normal:
            self.end_reason = f"caller hung up with {self.bye_reason}"
        if self.transfer is not None:
            self.transfer.remote_hangup()
        self._finish()

    def reinvite_response(self, request: Request) -> Response:
        """A re-INVITE's answer: its offer negotiated afresh, hold included (`reinvite.py`)."""
        assert self.media is not None  # set before the answer, so before any dialog
        return reinvite_response(request, self.media, self.net.contact(self.source.transport))

    # -- ending --------------------------------------------------------------------------

    def hangup(self, why: str) -> None:
        """We end the call: BYE if answered (after the answer), else 486 (before it)."""
        if self.state is State.ENDED:
            return
        log.debug("call %s: hanging up (%s)", self.sip_call_id, why)
        self.end_reason = why
        if self.dialog is None:
            self._respond(*REJECTED)
            if self.task is not None:
                self.task.cancel()
            self._finish()
            return
        self._finish()
        self.bye_task = self.net.spawn(self._send_bye())

    def shutdown(self) -> None:
        """The bridge stops: BYE after the answer (as `hangup`), `503 Service Unavailable`
        before it; the bridge then waits (bounded) for `bye_task`."""
        if self.state is State.ENDED:
            return
        if self.dialog is not None:
            self.hangup("bridge shutting down")
            return
        self.end_reason = "bridge shutting down"
        self._respond(*SHUTTING_DOWN)
        if self.task is not None:
            self.task.cancel()
        self._finish()

    async def _send_bye(self) -> None:
        dialog = self.dialog
        if dialog is None:
            return
        headers = [("User-Agent", "LiveKit")]
        headers += list(headers_from_attributes(self.attributes_to_headers, self.attributes).items())
        try:
            source = await self.net.source_for(dialog.next_hop, self.source)
            bye = dialog.create_request("BYE", self.net.via(source.transport), headers)
            await self.net.request(bye, source)
        except Exception as err:  # the peer may be gone; the call is over either way
            log.warning("call %s: BYE failed: %s", self.sip_call_id, err)

    def _finish(self) -> None:
        if self.state is State.ENDED:
            return
        self._set_state(State.ENDED)
        self._stop_ringing()
        for timer in self._timers:
            timer.cancel()
        if self._media_watch is not None:
            self._media_watch.stop()
        if self._pin_done is not None and not self._pin_done.done():
            self._pin_done.cancel()
        if self.room is not None and self.identity is not None:
            self._set_attributes({CALL_STATUS: "hangup"})
            self.net.participant_sink.leave(self.room, self.identity)
        if self.rtp is not None:
            self.rtp.close()
        self.net.unbind(self)
        self.ended.set()
        self._log_outcome()
        callbacks, self.on_end = self.on_end, []
        for callback in callbacks:
            callback()


    def _log_outcome(self) -> None:
        """One INFO line per call, trunk and rule by id and name. Never the PIN, digest
        credentials or any header value."""
        status = f"{self.final[0]} {self.final[1]}".rstrip() if self.final else "no final response"
        ended = self.end_reason or ("rejected" if self.final and self.final[0] >= 300 else "ended")
        trunk = labelled(self.trunk.sip_trunk_id, self.trunk.name) if self.trunk is not None else "-"
        log.info("inbound call %s Call-ID %s: %s -> %s trunk %s rule %s room %s: %s, %s, %.1f s",
                 self.sip_call_id, self.invite.call_id, self.facts.from_user or "-", self.facts.to_user or "-",
                 trunk, labelled(self.rule_id, self.rule_name), self.room or "-", status, ended,
                 max(0.0, self.net.clock.now() - self.started))


def _uas_dialog(invite: Request, response: Response, contact: str) -> Dialog:
    """RFC 3261 12.1.1; a peer without Contact is reached at its From URI."""
    try:
        return Dialog.from_uas(invite, response, contact)
    except ValueError:
        to = response.to
        from_ = invite.from_
        return Dialog(call_id=invite.call_id, local_tag=to.tag or new_tag(), remote_tag=from_.tag or "",
                      local_uri=NameAddr(to.uri), remote_uri=NameAddr(from_.uri), remote_target=str(from_.uri),
                      remote_seq=invite.cseq.seq, local_contact=contact)
