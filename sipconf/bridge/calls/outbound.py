"""Outbound calls: CreateSIPParticipant as LiveKit's SIP service places them.

The internal request comes from `outbound.participant`, the Request-URI/From/To from
`outbound.headers`; failures are the errors of `outbound.invite_errors` (what asyncio and
sockets raise is translated into them by `dialling_error`), classified there and returned
with `api_error` so the twirp error carries `sip_status_code` / `sip_status` (the Python
client raises `SipCallError`).
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import ipaddress
import logging
import socket
from typing import Callable

from livekit.protocol import sip as sip_pb

from sipconf.sip import sdp
from sipconf.bridge.calls.decisions import media_timeout_of
from sipconf.bridge.calls.media_timeout import MediaWatch, timeouts
from sipconf.bridge.calls.reinvite import MediaSession, reinvite_response
from sipconf.bridge.calls.signalling import TransactionTimeout, duration_seconds, sleep
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.log_lines import labelled
from sipconf.sip.digest import answer_challenge, challenge_headers
from sipconf.bridge.media import RtpSession
from sipconf.bridge.ports import ParticipantJoin
from sipconf.sip.message import Request, Response
from sipconf.bridge.transaction import build_cancel, new_branch
from sipconf.bridge.transport import Source
from sipconf.sip.uri import URI
from sipconf.routing import errors
from sipconf.routing import ids
from sipconf.outbound import invite_errors
from sipconf.routing.attributes import CALL_STATUS, first_header, headers_from_attributes, included_headers
from sipconf.routing.errors import LiveKitError
from sipconf.outbound.headers import OutboundRequest, build_outbound_headers
from sipconf.outbound.participant import InternalRequest, new_create_sip_participant_request
from sipconf.outbound.reason import parse_reason

log = logging.getLogger("sipconf.bridge.calls.outbound")

ALLOW = "INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE"
MAX_INVITES = 5  # docs/livekit.md#dialling: "at most 5 INVITEs"
RINGING_TIMEOUT = 180.0  # docs/livekit.md#dialling: default 3 min (the Python client sends 30 s)
MAX_CALL = 24 * 3600.0


class State(enum.Enum):
    DIALING = "dialing"
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


def loopback_only(host: str) -> None:
    """The embedded bridge dials only loopback addresses unless --allow-external-dial."""
    name = host.strip("[]")
    try:
        ok = ipaddress.ip_address(name).is_loopback
    except ValueError:
        ok = name == "localhost"
    if not ok:
        raise LiveKitError(
            errors.FAILED_PRECONDITION,
            f"the embedded sipconf bridge dials only loopback addresses (127.0.0.0/8, ::1), not {host}; "
            "start it with `sipconf up --allow-external-dial` to call other hosts",
        )


def dialling_error(err: BaseException) -> BaseException:
    """`err` as one of the error kinds `invite_errors` classifies.

    What asyncio and the socket layer raise becomes the Go error LiveKit's SIP service sees
    in its place (`context` and `net` errors), with `err` as its cause; any other error is
    returned as it is. The order matters: `TimeoutError` and `socket.gaierror` are OSErrors.
    """
    translated: BaseException
    if isinstance(err, asyncio.CancelledError):
        translated = invite_errors.ContextCanceled()
    elif isinstance(err, TimeoutError):
        translated = invite_errors.ContextDeadlineExceeded()
    elif isinstance(err, socket.gaierror):
        translated = invite_errors.NetDNSError(str(err))
    elif isinstance(err, OSError):
        translated = invite_errors.NetOpError(str(err))
    else:
        return err
    translated.__cause__ = err
    return translated


def sip_call_id_for(call_id: str) -> str:
    """The outbound SIP Call-ID is a deterministic hash of the SCL_ id (docs/livekit.md#ids)."""
    return hashlib.sha256(call_id.encode()).hexdigest()[:32]


class OutboundCall:
    """One outbound call: dialling, answered, ended. Shares the call interface of inbound
    calls (dialog, source, attributes, transfer, hangup, on_bye, ended)."""

    def __init__(self, net, internal: InternalRequest, trunk: sip_pb.SIPOutboundTrunkInfo | None,
                 request_uri: str, from_: str, to: str, dest: tuple[str, int], transport: str) -> None:
        self.net = net
        self.internal = internal
        self.trunk = trunk
        self.sip_call_id = internal.sip_call_id
        self.call_id = sip_call_id_for(internal.sip_call_id)
        self.local_tag = internal.sip_call_id  # docs/livekit.md#ids: "for outbound it is the From-tag"
        self.request_uri, self.from_, self.to = request_uri, from_, to
        self.dest, self.transport = dest, transport
        self.state = State.DIALING
        self.room, self.identity = internal.room_name, internal.participant_identity
        self.attributes: dict[str, str] = dict(internal.participant_attributes)
        self.dialog: Dialog | None = None
        self.source: Source | None = None  # where the INVITE went (the trunk's address)
        self.dialog_source: Source | None = None  # where in-dialog requests go: the route set's first hop
        self.rtp: RtpSession | None = None
        self.media: MediaSession | None = None  # our SDP and its RTP, renegotiated by re-INVITEs
        self.invite: Request | None = None
        self.invite_sent = False
        self.transfer = None
        self.ended = asyncio.Event()
        self.answered_future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.error: LiveKitError | None = None
        self._final: asyncio.Future[Response] | None = None
        self._provisionals = 0
        self._timers: list = []
        self._media_watch: MediaWatch | None = None
        self.task: asyncio.Task | None = None
        self.bye_task: asyncio.Task | None = None  # our BYE's client transaction, once sent
        self.started = net.clock.now()
        self.status = "not sent"  # the INVITE's outcome, for the outcome log line
        self.end_reason = ""
        self.on_end: list[Callable[[], None]] = []  # called once, when the call ends

    @property
    def attributes_to_headers(self) -> dict[str, str]:
        return dict(self.internal.attributes_to_headers)

    @property
    def answered(self) -> bool:
        return self.state is State.ACTIVE or (self.dialog is not None and self.state is not State.ENDED)

    def _set_state(self, new: State) -> None:
        if new is self.state:
            return
        log.debug("outbound %s: %s -> %s", self.sip_call_id, self.state.value, new.value)
        self.state = new
        if new is not State.ENDED:
            self._set_attributes({CALL_STATUS: new.value})

    def _set_attributes(self, changes: dict[str, str]) -> None:
        self.attributes.update(changes)
        # False when the API removed the participant meanwhile: the call is ending anyway.
        self.net.participant_sink.update_attributes(self.room, self.identity, changes)

    # -- dialling -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._dial()
        except asyncio.CancelledError:
            self._fail(invite_errors.ContextCanceled())
            raise
        except Exception as err:  # every failure is classified (docs/livekit.md#invite-errors)
            self._fail(err)

    def _fail(self, err: BaseException) -> None:
        verdict = invite_errors.classify_invite_error(dialling_error(err), after_invite_sent=self.invite_sent)
        api = invite_errors.api_error(verdict.return_error)
        log.debug("outbound %s failed: %s (%s)", self.sip_call_id, err, verdict.termination)
        self.end_reason = self.end_reason or f"failed: {verdict.termination}"
        if self.status == "not sent" or self.status.startswith("1"):
            self.status = f"no answer ({type(err).__name__})" if self.invite_sent else "not sent"
        self.error = api
        if not self.answered_future.done():
            self.answered_future.set_exception(api)
            self.answered_future.exception()  # retrieved: the API may not wait for it
        self._finish()

    async def _dial(self) -> None:
        self.rtp = RtpSession(self.net.clock, allow_external=self.net.allow_external_dial)
        port = await self.rtp.open()
        offer = bytes(sdp.build_offer(self.net.host, port))
        self.media = MediaSession(self.rtp, self.net.host, offer)
        if self.transport == "TCP":
            self.source = await self.net.sip.tcp_source(self.dest)
        else:
            self.source = self.net.sip.udp_source(self.dest)
        auth: tuple[str, str] | None = None
        cseq = 0
        limit = duration_seconds(self.internal.ringing_timeout, RINGING_TIMEOUT)
        self._timers.append(self.net.clock.call_later(limit, self._ringing_timeout))
        for attempt in range(1, MAX_INVITES + 1):
            cseq += 1
            self.invite = self._build_invite(cseq, offer, auth)
            resp = await self._send_invite(self.invite)
            self.status = f"{resp.status} {resp.reason}".rstrip()
            if resp.status in (401, 407):
                auth = self._answer_challenge(resp, attempt)
                continue
            if 200 <= resp.status < 300:
                await self._answered(resp)
                return
            raise invite_errors.invite_failure_error(resp.status, resp.reason, resp.body.decode("utf-8", "replace"), resp.headers)
        raise invite_errors.AuthMaxRetry()

    def _build_invite(self, cseq: int, offer: bytes, auth: tuple[str, str] | None) -> Request:
        headers = [
            ("Via", f"{self.net.via(self.transport)};branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", f"{self.from_};tag={self.local_tag}"),
            ("To", self.to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} INVITE"),
            ("Contact", self.net.contact(self.transport)),
            ("Allow", ALLOW),
            ("User-Agent", "LiveKit"),
        ]
        # docs/livekit.md#dialling: "the merged headers sorted by name" (custom headers +
        # attributes_to_headers).
        custom = dict(self.internal.headers)
        custom.update(headers_from_attributes(self.internal.attributes_to_headers, self.attributes))
        headers += sorted(custom.items())
        if auth is not None:
            headers.append(auth)
        request = Request(method="INVITE", uri=self.request_uri, headers=headers)
        request.set_body(offer, "application/sdp")
        return request

    def _answer_challenge(self, resp: Response, attempt: int) -> tuple[str, str]:
        if not (self.internal.username and self.internal.password):
            raise invite_errors.AuthMissingCredentials()
        if attempt >= MAX_INVITES:
            raise invite_errors.AuthMaxRetry()
        challenge_name, credentials_name = challenge_headers(resp.status)
        challenge = resp.get(challenge_name)
        if challenge is None:
            raise invite_errors.AuthNoChallenge()
        uri = str(resp.to.uri)  # docs/livekit.md#dialling: the digest uri is the URI of the challenge response's To header
        value = answer_challenge(challenge, "INVITE", uri, self.internal.username, self.internal.password)
        return credentials_name, value

    async def _send_invite(self, invite: Request) -> Response:
        loop = asyncio.get_running_loop()
        self._final = loop.create_future()
        final = self._final

        def on_response(resp: Response) -> None:
            if resp.status < 200:
                self._provisionals += 1
                if resp.status >= 180 and self.state is State.DIALING:
                    self._set_state(State.RINGING)  # 180-199 set ringing (docs/livekit.md#dialling)
            elif not final.done():
                final.set_result(resp)
            elif 200 <= resp.status < 300:
                self._resend_ack()  # a retransmitted 2xx: the ACK was lost

        def on_timeout() -> None:
            if not final.done():
                final.set_exception(invite_errors.TransactionEnded(self._provisionals))

        assert self.source is not None
        self.net.tm.send_request(invite, self.source.send, self.source.reliable, on_response, on_timeout)
        self.invite_sent = True
        return await final

    def _ringing_timeout(self) -> None:
        """No final within ringing_timeout -> CANCEL, error `sip request timed out`
        (docs/livekit.md#dialling)."""
        if self._final is None or self._final.done() or self.invite is None or self.source is None:
            return
        extra = [("User-Agent", "LiveKit"), *headers_from_attributes(self.internal.attributes_to_headers,
                                                                       self.attributes).items()]
        cancel = build_cancel(self.invite, extra)
        self.net.tm.send_request(cancel, self.source.send, self.source.reliable, lambda _r: None)
        self._final.set_exception(invite_errors.psrpc_error(errors.CANCELED, invite_errors.SIPRequestTimeout()))

    async def _answered(self, resp: Response) -> None:
        assert self.invite is not None and self.source is not None and self.rtp is not None
        assert self.media is not None
        self.dialog = Dialog.from_uac(self.invite, resp)
        self.dialog.local_contact = self.net.contact(self.transport)
        self.net.bind(self, dialog_key=(self.call_id, self.local_tag))
        # RFC 3261 13.2.2.4: the ACK for a 2xx is sent like any in-dialog request, through the
        # route set the 2xx's Record-Route gave (a record-routing proxy), else to its Contact.
        self.dialog_source = await self.net.source_for(self.dialog.next_hop, self.source)
        self._resend_ack()
        try:
            answer = sdp.negotiate(sdp.SessionDescription.parse(resp.body))
        except sdp.NoCommonCodec as err:
            self.hangup("no common codec")
            raise invite_errors.SDPError(invite_errors.SDPError.NO_COMMON_MEDIA, str(err)) from None
        except ValueError as err:
            self.hangup("bad SDP")
            raise invite_errors.SDPError(invite_errors.SDPError.OTHER, str(err)) from None
        # The callee's answer read as an offer gives our direction (RFC 3264 6.1 mirrors it).
        self.media.apply(answer)
        # docs/livekit.md#dialling: headers_to_attributes / include_headers read from the 200 OK.
        mapped = included_headers(resp.headers, self.internal.include_headers)
        for header, attribute in self.internal.headers_to_attributes.items():
            value = first_header(resp.headers, header)
            if value is not None:
                mapped[attribute] = value
        if mapped:
            self._set_attributes(mapped)
        limit = duration_seconds(self.internal.max_call_duration, MAX_CALL, MAX_CALL)
        self._timers.append(self.net.clock.call_later(limit, lambda: self.hangup("max call duration")))
        # docs/livekit.md#media-merge: outbound calls time out on the merged (trunk, request) media
        # config.
        media_limits = timeouts(media_timeout_of(self.internal.media))
        self._media_watch = MediaWatch(self.net.clock, self.rtp, lambda: media_limits,
                                       lambda: self.hangup("media timeout"))
        if self.internal.dtmf:
            length = self.rtp.send_dtmf(self.internal.dtmf)  # dtmf, then active (docs/livekit.md#dialling)
            if length:
                await sleep(self.net.clock, length)
        if self.state is State.ENDED:
            return
        self._set_state(State.ACTIVE)
        if not self.answered_future.done():
            self.answered_future.set_result(None)

    def _resend_ack(self) -> None:
        if self.dialog is None or self.invite is None or self.dialog_source is None:
            return
        ack = self.dialog.create_ack(self.invite.cseq.seq, self.net.via(self.dialog_source.transport))
        self.dialog_source.send(ack)

    # -- the established call -------------------------------------------------------------

    def reinvite_response(self, request: Request) -> Response:
        """A re-INVITE from the callee: its offer negotiated afresh, hold included (`reinvite.py`)."""
        assert self.media is not None  # set before the INVITE went out, so before any dialog
        return reinvite_response(request, self.media, self.net.contact(self.transport))

    def on_bye(self, request: Request) -> None:
        value = request.get("reason")
        if value is not None:
            try:
                reason = parse_reason(value)
                self.end_reason = "callee hung up" if reason.is_normal else f"callee hung up with {reason}"
            except ValueError:
                pass
        self.end_reason = self.end_reason or "callee hung up"
        if self.transfer is not None:
            self.transfer.remote_hangup()
        self._finish()

    def shutdown(self) -> None:
        """The bridge stops: as LiveKit's hang-up, CANCEL before the answer, BYE after it."""
        self.hangup("bridge shutting down")

    def hangup(self, why: str) -> None:
        """BYE after the answer, CANCEL before, both with User-Agent and attributes_to_headers
        values (docs/livekit.md#dialling)."""
        if self.state is State.ENDED:
            return
        log.debug("outbound %s: hanging up (%s)", self.sip_call_id, why)
        self.end_reason = self.end_reason or why
        if self.dialog is None:
            if self._final is not None and not self._final.done() and self.invite is not None and self.source:
                extra = [("User-Agent", "LiveKit"), *headers_from_attributes(self.internal.attributes_to_headers,
                                                                               self.attributes).items()]
                cancel = build_cancel(self.invite, extra)
                self.net.tm.send_request(cancel, self.source.send, self.source.reliable, lambda _r: None)
                self._final.set_exception(invite_errors.ContextCanceled())
            self._finish()
            return
        dialog, source = self.dialog, self.source
        self._finish()
        self.bye_task = self.net.spawn(self._send_bye(dialog, source))

    async def _send_bye(self, dialog: Dialog, source: Source | None) -> None:
        headers = [("User-Agent", "LiveKit"), *headers_from_attributes(self.internal.attributes_to_headers,
                                                                       self.attributes).items()]
        try:
            target = await self.net.source_for(dialog.next_hop, source)
            bye = dialog.create_request("BYE", self.net.via(target.transport), headers)
            await self.net.request(bye, target)
        except (TransactionTimeout, OSError, ValueError) as err:
            log.warning("outbound %s: BYE failed: %s", self.sip_call_id, err)

    def _finish(self) -> None:
        if self.state is State.ENDED:
            return
        self._set_attributes({CALL_STATUS: "hangup"})
        self.state = State.ENDED
        for timer in self._timers:
            timer.cancel()
        if self._media_watch is not None:
            self._media_watch.stop()
        self.net.participant_sink.leave(self.room, self.identity)
        if self.rtp is not None:
            self.rtp.close()
        self.net.unbind(self)
        self.net.outbound.by_call_id.pop(self.call_id, None)
        self.ended.set()
        callbacks, self.on_end = self.on_end, []  # each once; then they no longer hold this call
        for callback in callbacks:
            callback()
        self.net.metrics.outbound_ended(self.status)
        log.info("outbound call %s Call-ID %s: trunk %s -> %s (%s %s:%d): %s, %s, %.1f s",
                 self.sip_call_id, self.call_id,
                 labelled(self.trunk.sip_trunk_id, self.trunk.name) if self.trunk is not None else "-",
                 self.request_uri, self.transport, self.dest[0], self.dest[1], self.status,
                 self.end_reason or "ended", max(0.0, self.net.clock.now() - self.started))


class OutboundCalls:
    """CreateSIPParticipant for the bridge (the half of its CallControl that places calls)."""

    def __init__(self, net) -> None:
        self.net = net
        self.by_call_id: dict[str, OutboundCall] = {}

    async def create(self, req: sip_pb.CreateSIPParticipantRequest) -> sip_pb.SIPParticipantInfo:
        trunk = None
        if req.sip_trunk_id:
            trunk = next((t for t in self.net.outbound_trunks() if t.sip_trunk_id == req.sip_trunk_id), None)
            if trunk is None:
                raise LiveKitError(errors.NOT_FOUND, f"outbound trunk {req.sip_trunk_id} not found")
        from_host = trunk.from_host if trunk is not None else req.trunk.from_host
        call_id = ids.new_id(ids.CALL)
        owns = getattr(self.net, "owns_call_id", None)
        while owns is not None and not owns(sip_call_id_for(call_id)):  # with call workers: one of ours
            call_id = ids.new_id(ids.CALL)
        internal = new_create_sip_participant_request("", call_id, from_host, "", "", req, trunk)
        default_host = f"{self.net.host}:{self.net.udp_address[1]}"
        built = build_outbound_headers(_outbound_request(internal), default_host)
        request_uri, from_line, to_line = built.rendered()
        target = URI.parse(request_uri)
        loopback_only(target.host)
        wanted = (target.param("transport") or "").lower()
        transport = "TCP" if wanted == "tcp" or internal.transport == sip_pb.SIP_TRANSPORT_TCP else "UDP"
        dest = (target.host.strip("[]"), target.port or 5060)
        call = OutboundCall(self.net, internal, trunk, request_uri, from_line.removeprefix("From: "),
                            to_line.removeprefix("To: "), dest, transport)
        attrs = dict(internal.participant_attributes)
        attrs[CALL_STATUS] = "dialing"  # joins the room first (docs/livekit.md#dialling)
        call.attributes = attrs
        participant_id = self.net.participant_sink.join(ParticipantJoin(
            internal.room_name, internal.participant_identity, internal.participant_name,
            internal.participant_metadata, attrs))
        self.net.bind(call, participant=(internal.room_name, internal.participant_identity))
        # Only while the call lives: its INVITE client transaction ACKs 2xx retransmissions
        # for 64*T1 after the answer (RFC 6026 7.2), whether the call ended meanwhile or not.
        self.by_call_id[call.call_id] = call
        call.on_end.append(lambda: self._forget(call))
        call.task = self.net.spawn(call.run())
        call.task.add_done_callback(lambda _t: None)
        if internal.wait_until_answered:
            await asyncio.shield(call.answered_future)
        return sip_pb.SIPParticipantInfo(participant_id=participant_id,
                                         participant_identity=internal.participant_identity,
                                         room_name=internal.room_name, sip_call_id=call_id)

    def _forget(self, call: OutboundCall) -> None:
        if self.by_call_id.get(call.call_id) is call:
            del self.by_call_id[call.call_id]

    def stray_response(self, resp: Response, source: Source) -> None:
        """A 2xx retransmitted after the INVITE transaction ended: ACK it again."""
        try:
            call = self.by_call_id.get(resp.call_id)
        except ValueError:
            return
        if call is not None and 200 <= resp.status < 300 and resp.cseq.method == "INVITE":
            call._resend_ack()


def _outbound_request(internal: InternalRequest) -> OutboundRequest:
    return OutboundRequest(
        address=internal.address,
        number=internal.number,
        call_to=internal.call_to,
        display_name=internal.display_name,
        transport=internal.transport,
        to_user_override=internal.to_user_override,
        hostname=internal.hostname,
        sip_request_uri=internal.sip_request_uri,
        sip_from_header=internal.sip_from_header,
        sip_to_header=internal.sip_to_header,
    )
