"""The SIP bridge: UDP+TCP listeners, transactions, and the call logic of `calls/`.

`Bridge(ports, ...)` is an async context manager. It sees a control plane only through
`ports` (`sipconf.bridge.ports`): it reads trunks and rules from the trunk directory per call
(decoded again only when the directory's version moves), joins routed calls to rooms through
the participant sink, hangs up calls whose participant the API removed, and serves
CreateSIPParticipant / TransferSIPParticipant handed in through the call requests port.
Requests it does not route to a call get LiveKit's answers: OPTIONS 200, unknown BYE/NOTIFY
481, others 405.

Closing ends every live call as a hang-up does: answered calls get a BYE, outbound calls
still dialling get a CANCEL, and inbound INVITEs not yet answered get `503 Service
Unavailable` (the server is going away; the caller may retry elsewhere). The bridge then
waits at most `shutdown_wait` seconds for those BYE transactions before it stops.

In-dialog requests (BYE, REFER) go over the connection the dialog came on while it is open,
else to the dialog's next hop (its first route, else the peer's Contact), and only when that
is an IP literal on loopback (`sipconf.bridge.addresses`; other addresses with
`allow_external_dial`): a request to any other target fails before a packet is sent, and a
host name is never resolved. `trusted_proxies` (addresses and CIDR blocks) are exempt from
the transport's per-source limits.

Digest auth (`sipconf.sip.digest`) takes one answer per nonce, and a source that keeps
answering wrong is backed off with 503 + Retry-After (`sipconf.bridge.backoff`).

Logging: one INFO line per call outcome (inbound, outbound, transfer), one WARNING per
second at most while overload sheds INVITEs with 503, and rate-limited warnings about
unusable messages (see `sipconf.bridge.log_lines`). No PIN, password or header value is
ever logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Iterable

from livekit.protocol import sip as sip_pb

from sipconf.bridge.addresses import AddressError, TrustedProxies, destination
from sipconf.bridge.admission import Admission, AdmissionLimits
from sipconf.bridge.backoff import Backoff, BackoffPolicy
from sipconf.bridge.calls import decisions as D
from sipconf.bridge.calls.inbound import InboundCall, InboundConfig, valid_invite
from sipconf.bridge.calls.outbound import OutboundCalls
from sipconf.bridge.calls.pin import info_digit
from sipconf.bridge.calls.replay import ReplayCache
from sipconf.bridge.calls.signalling import TransactionTimeout
from sipconf.bridge.calls.transfer import answer_notify, transfer
from sipconf.bridge.clock import Clock, LoopClock
from sipconf.bridge.dialog import DialogError, new_tag, stateless_tag
from sipconf.bridge.metrics import BridgeMetrics
from sipconf.bridge.ports import (
    CallPhase, CallReport, CallReports, ControlPlanePorts, ParticipantRemoved, TrunksAndRules,
)
from sipconf.bridge.inspection import inspect
from sipconf.bridge.shards import owns
from sipconf.bridge.shedding import Doorman
from sipconf.sip.digest import NONCE_LIFETIME, DigestServer
from sipconf.bridge.log_lines import Throttle, printable
from sipconf.sip.message import Request, Response, make_response
from sipconf.bridge.transaction import InviteServerTransaction, ServerTransaction, TransactionManager
from sipconf.bridge.transport import Limits, SipServer, Source
from sipconf.sip.uri import URI
from sipconf.validation import legacy
from sipconf.routing.index import RoutingIndex
from sipconf.routing.route import Mode

__all__ = ["ALLOW", "Bridge"]

log = logging.getLogger("sipconf.bridge.server")

# What LiveKit advertises, although most of these get 405.
ALLOW = "INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE"
MAX_CALLS = 1000
MAX_LAG = 0.1  # seconds of (averaged) event-loop lag before new calls get 503
MAX_QUEUE_AGE = 0.2  # seconds a new INVITE may have waited to be read before it gets 503 at once
SHUTDOWN_WAIT = 2.0  # seconds close() waits for the BYEs of the calls it ends
SHED_LOG_INTERVAL = 1.0  # at most one overload WARNING per this many seconds


class Bridge:
    """`async with Bridge(ports) as bridge:` serves SIP on `bridge.udp_address` and
    `bridge.tcp_address` until the block exits."""

    def __init__(
        self,
        ports: ControlPlanePorts,
        host: str = "127.0.0.1",
        udp_port: int = 0,
        tcp_port: int = 0,
        mode: Mode | str = Mode.EXPLICIT,
        ring_delay: float = 0.0,
        dtmf_info: bool = False,
        allow_external_dial: bool = False,
        clock: Clock | None = None,
        *,
        decisions: D.DecisionLayer | None = None,
        hide_inbound_port: bool = False,
        limits: Limits | None = None,
        max_calls: int = MAX_CALLS,
        max_lag: float = MAX_LAG,
        max_queue_age: float = MAX_QUEUE_AGE,
        max_pending: int = 0,
        retry_after: int = 1,
        transfer_bye_wait: float = 1.0,
        shutdown_wait: float = SHUTDOWN_WAIT,
        trusted_proxies: TrustedProxies | Iterable[str] = (),
        auth_backoff: BackoffPolicy | None = None,
        nonce_lifetime: float = NONCE_LIFETIME,
        udp_front: bool = False,
        shard: int = 0,
        shards: int = 1,
        udp_endpoint=None,
        tcp: bool = True,
    ) -> None:
        self.host = host
        self.ports = ports
        # With call workers (`sipconf.bridge.shards`): this process is shard `shard` of `shards`.
        self.shard, self.shards = shard, shards
        # Where TransferSIPParticipant goes for a participant whose call another shard holds
        # (set by the main process's worker pool): (request) -> awaitable, or None.
        self.transfer_elsewhere: Callable[[sip_pb.TransferSIPParticipantRequest], object] | None = None
        self.participant_sink = ports.participants
        self.mode = Mode(mode)
        self.clock: Clock = clock or LoopClock()
        self.allow_external_dial = allow_external_dial  # also: SIP replies and RTP may leave loopback
        self.trusted_proxies = (trusted_proxies if isinstance(trusted_proxies, TrustedProxies)
                                else TrustedProxies.parse(trusted_proxies))
        self.throttle = Throttle(log, self.clock)
        self.admission = Admission(self.clock, AdmissionLimits(max_calls, max_pending, max_lag, retry_after,
                                                                 max_queue_age))
        self.transfer_bye_wait = transfer_bye_wait
        self.shutdown_wait = shutdown_wait
        self.metrics = BridgeMetrics()
        self._shed = 0  # 503s not yet reported in a WARNING
        self._shed_logged_at: float | None = None
        self.decisions = decisions or D.StoreDecisions(self._routing_index, self.mode)
        self.config = InboundConfig(
            decisions=self.decisions,
            replay=ReplayCache(self.clock),
            # LiveKit's nonce starts with unix microseconds; the injected clock expires it.
            digest=DigestServer(_unix_us, self.clock.now, lifetime=nonce_lifetime),
            # Digest guessing backs off per (source, username); a trusted proxy's calls per username.
            backoff=Backoff(self.clock, auth_backoff, self.trusted_proxies),
            hide_inbound_port=hide_inbound_port,
            ring_delay=ring_delay,
            dtmf_info=dtmf_info,
        )
        self.tm = TransactionManager(self.clock)
        self.doorman = Doorman(self.admission, self.tm.has_invite, self._refused_stale)
        self.sip = SipServer(self._on_message, host, udp_port, tcp_port, limits, self.clock,
                             allow_external=allow_external_dial, trusted_proxies=self.trusted_proxies,
                             early=self.doorman.screen, udp_front=udp_front,
                             shedding=self.admission.front_sheds, on_refused=self._refused_by_front,
                             tcp=tcp, shards=shards, udp_endpoint=udp_endpoint)
        self.outbound = OutboundCalls(self)
        self.dialogs: dict[tuple[str, str], object] = {}
        self.participants: dict[tuple[str, str], object] = {}
        self.pending: dict[InviteServerTransaction, InboundCall] = {}
        self._bound: dict[object, list[tuple[dict, tuple[str, str]]]] = {}  # call -> its table keys
        self._objects: tuple[object, tuple] | None = None  # (directory version, trunks and rules)
        self._index: RoutingIndex | None = None  # of that version, built when first asked
        self.on_index_built: Callable[[], None] | None = None  # told when a routing index was built
        self._received = 0  # messages handled so far
        self._index_checked = -1  # `_received` when the index was last checked against the directory
        self._tasks: set[asyncio.Task] = set()
        self._unlisten: Callable[[], None] | None = None
        self._stop_serving: Callable[[], None] | None = None

    @property
    def max_calls(self) -> int:
        return self.admission.limits.max_calls

    def owns_call_id(self, call_id: str) -> bool:
        """Whether the front hands this process the datagrams of `call_id`."""
        return owns(call_id, self.shard, self.shards)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sip.start()
        self.admission.start()
        self._unlisten = self.participant_sink.on_removed(self._participant_removed)
        self._stop_serving = self.ports.calls.serve(self)

    async def close(self) -> None:
        if self._stop_serving is not None:
            self._stop_serving()
            self._stop_serving = None
        self.admission.stop()
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        await self._end_calls()
        self._report_shed(force=True)
        for call in list(self.dialogs.values()) + list(self.pending.values()):
            call._finish()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sip.close()

    async def _end_calls(self) -> None:
        """Hang up every live call (BYE / CANCEL / 503) and wait, bounded, for the BYEs."""
        calls = dict.fromkeys([*self.pending.values(), *self.dialogs.values(), *self.participants.values()])
        for call in calls:
            call.shutdown()
        byes = [task for call in calls if (task := getattr(call, "bye_task", None)) is not None]
        if byes:
            _done, late = await asyncio.wait(byes, timeout=self.shutdown_wait)
            if late:
                log.warning("stopping with %d BYE(s) unanswered after %g s", len(late), self.shutdown_wait)

    async def __aenter__(self) -> "Bridge":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def udp_address(self) -> tuple[str, int]:
        return self.sip.udp_address

    @property
    def tcp_address(self) -> tuple[str, int]:
        return self.sip.tcp_address

    def spawn(self, coro) -> asyncio.Task:
        """A task the bridge owns: cancelled on close, never leaked."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- state the decisions read ----------------------------------------------------------

    def _stored(self) -> tuple[list, list, list]:
        """(inbound trunks, outbound trunks, rules) as LiveKit lists them, legacy trunks
        included. Built again only when the directory's version moves (every INVITE asks)."""
        version = self.ports.directory.version()
        cached = self._objects
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        objects = _listed(self.ports.directory.current())
        self._objects = (version, objects) if version is not None else None
        self._index = None
        return objects

    def _routing_index(self) -> RoutingIndex:
        """The routing index of the directory's current version, built on the first call
        that needs it after the version moved. The version is read once per message received
        (an INVITE's auth step and its dispatch ask twice; reading it is a query): every change
        committed before an INVITE is handled reaches that INVITE."""
        index = self._index
        if index is not None and self._index_checked == self._received:
            return index
        inbound, _, rules = self._stored()
        index = self._index
        if index is None or self._objects is None:
            index = RoutingIndex.build(inbound, rules)
            self._index = index if self._objects is not None else None
            if self.on_index_built is not None:
                self.on_index_built()
        self._index_checked = self._received if self._index is not None else -1
        return index

    def warm(self) -> None:
        """Build the routing index now rather than on the first INVITE."""
        self._routing_index()

    def outbound_trunks(self) -> list[sip_pb.SIPOutboundTrunkInfo]:
        return list(self._stored()[1])

    # -- Signalling (what calls/ uses) ----------------------------------------------------

    def _port(self, transport: str) -> int:
        try:
            return (self.sip.tcp_address if transport.upper() == "TCP" else self.sip.udp_address)[1]
        except RuntimeError:
            return self.sip.udp_address[1]

    def via(self, transport: str) -> str:
        return f"SIP/2.0/{transport.upper()} {self.host}:{self._port(transport)}"

    def contact(self, transport: str) -> str:
        suffix = ";transport=tcp" if transport.upper() == "TCP" else ""
        return f"<sip:{self.host}:{self._port(transport)}{suffix}>"

    async def source_for(self, target: str, origin: Source | None) -> Source:
        """RFC 3261 18: keep using the connection the dialog came on while it is open; else
        `target` (the dialog's next hop), if its address may be sent to, or AddressError."""
        if origin is not None and origin.reliable and origin.is_open():
            return origin
        try:
            uri = URI.parse(target)
        except ValueError:
            raise AddressError(f"in-dialog target {printable(target)!r} is not a SIP URI") from None
        try:
            address = destination(uri.host, uri.port if uri.port is not None else 5060,
                                  allow_external=self.allow_external_dial)
        except AddressError as err:
            raise AddressError(f"in-dialog target {printable(target)}: {err}") from None
        if (uri.param("transport") or "").lower() == "tcp" or (origin is not None and origin.reliable):
            return await self.sip.tcp_source(address)
        return self.sip.udp_source(address)

    async def request(self, request: Request, source: Source,
                      on_provisional: Callable[[Response], None] | None = None) -> Response:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Response] = loop.create_future()
        provisionals = 0

        def on_response(resp: Response) -> None:
            nonlocal provisionals
            if resp.status < 200:
                provisionals += 1
                if on_provisional is not None:
                    on_provisional(resp)
            elif not fut.done():
                fut.set_result(resp)

        def on_timeout() -> None:
            if not fut.done():
                fut.set_exception(TransactionTimeout(provisionals))

        self.tm.send_request(request, source.send, source.reliable, on_response, on_timeout)
        return await fut

    def bind(self, call, dialog_key: tuple[str, str] | None = None,
             participant: tuple[str, str] | None = None) -> None:
        for table, key in ((self.dialogs, dialog_key), (self.participants, participant)):
            if key is not None:
                table[key] = call
                self._bound.setdefault(call, []).append((table, key))

    def unbind(self, call) -> None:
        # The keys were recorded at bind time: no scan of every live call per hang-up.
        for table, key in self._bound.pop(call, ()):
            if table.get(key) is call:
                del table[key]

    def _participant_removed(self, event: ParticipantRemoved) -> None:
        """RemoveParticipant / DeleteRoom: the call is hung up (BYE to the caller)."""
        call = self.participants.get((event.room, event.identity))
        if call is not None:
            call.hangup(f"participant {event.reason}")

    @staticmethod
    def _report(reports: CallReports, call: InboundCall, phase: CallPhase) -> None:
        status, reason = call.final if call.final is not None else (None, "")
        reports.report(CallReport(
            sip_call_id=call.sip_call_id, phase=phase, status=status, reason=reason,
            trunk_id=call.trunk.sip_trunk_id if call.trunk is not None else "", rule_id=call.rule_id,
            room=call.room or "", identity=call.identity or "", end_reason=call.end_reason))

    # -- CallControl ----------------------------------------------------------------------

    async def create_sip_participant(self, req: sip_pb.CreateSIPParticipantRequest) -> sip_pb.SIPParticipantInfo:
        return await self.outbound.create(req)

    async def transfer_sip_participant(self, req: sip_pb.TransferSIPParticipantRequest) -> None:
        call = self.participants.get((req.room_name, req.participant_identity))
        if call is None and self.transfer_elsewhere is not None:
            elsewhere = self.transfer_elsewhere(req)
            if elsewhere is not None:
                await elsewhere
                return
        await transfer(self, call, req)

    # -- incoming messages ----------------------------------------------------------------

    def _on_message(self, msg: Request | Response, source: Source) -> None:
        self._received += 1
        if isinstance(msg, Response):
            if not self.tm.receive_response(msg):
                self.outbound.stray_response(msg, source)
            return
        if source.queued and msg.method == "INVITE" and self._shed_stale(msg, source):
            return
        try:
            delivery = self.tm.receive_request(msg, source.send, source.reliable, send_trying=False,
                                               reply_path=source.reply_path())
        except ValueError as err:
            self.throttle.warning("unusable", "unusable %s from %s:%d: %s", printable(msg.method), *source.addr,
                                  printable(str(err)))
            return
        if delivery is None:
            return
        tx = delivery.transaction
        method = msg.method
        if method == "ACK":
            return  # the transaction manager stopped the 2xx retransmissions
        if method in ("INVITE", "BYE", "NOTIFY", "OPTIONS") or (method == "INFO" and self.config.dtmf_info):
            refusal = inspect(msg)  # RFC 3261 8.2.2-8.2.3: 416, 420, 415
            if refusal is not None:
                if not (method == "INVITE" and self.config.hide_inbound_port):  # as for a bad INVITE
                    _answer(tx, msg, refusal.status, refusal.reason, refusal.headers)
                return
        if method == "INVITE":
            self._invite(msg, tx, source)  # type: ignore[arg-type]
        elif method == "CANCEL":
            self._cancel(msg, tx, delivery.cancels, delivery.cancels_finished)
        elif method == "BYE":
            self._bye(msg, tx)
        elif method == "NOTIFY":
            call = self._dialog_call(msg)
            status, reason = answer_notify(call, msg) if call is not None else (481, "Call does not exist")
            _answer(tx, msg, status, reason)
        elif method == "OPTIONS":
            _answer(tx, msg, 200, "OK", [("Allow", ALLOW)])
        elif method == "INFO" and self.config.dtmf_info:
            self._info(msg, tx)
        else:
            # INFO, MESSAGE, SUBSCRIBE, UPDATE, incoming REFER, ...: 405, as LiveKit answers them.
            _answer(tx, msg, 405, "Method Not Allowed", [("Allow", ALLOW)])

    def _dialog_call(self, msg: Request):
        try:
            return self.dialogs.get((msg.call_id, msg.to.tag or ""))
        except ValueError:
            return None

    def _invite(self, msg: Request, tx: InviteServerTransaction, source: Source) -> None:
        try:
            to_tag = msg.to.tag
        except ValueError:
            to_tag = None
        if to_tag:
            call = self._dialog_call(msg)
            if call is None or not hasattr(call, "reinvite_response"):
                _answer(tx, msg, 481, "Call does not exist")
                return
            try:
                call.dialog.receive_request(msg)
            except DialogError as err:  # RFC 3261 12.2.2: a CSeq lower than the last one
                _answer(tx, msg, err.status, err.reason)
                return
            tx.respond(call.reinvite_response(msg))
            return
        if not valid_invite(msg):
            self.metrics.inbound_refused(None if self.config.hide_inbound_port else 400)
            if not self.config.hide_inbound_port:
                _answer(tx, msg, 400, "Bad request")
            return
        # RFC 3261 21.5.4: shed load before any routing or media work.
        refusal = self.admission.admit(len(self.pending) + len(self.dialogs), len(self.pending))
        if refusal is not None:
            _answer(tx, msg, refusal.status, refusal.reason, refusal.headers)
            self.metrics.inbound_refused(refusal.status)
            self._shed += 1
            self._report_shed()
            return
        call = InboundCall(self, self.config, msg, tx, source)
        self.pending[tx] = call
        # Pending until its final response (or its drop): a call answered or refused is not
        # counted by admission control while its task winds down.
        call.on_settled.append(lambda: self.pending.pop(tx, None))
        call.on_settled.append(lambda: self.metrics.inbound_settled(msg, call.final))
        reports = self.ports.reports
        if reports is not None:
            call.on_settled.append(lambda: self._report(reports, call, CallPhase.SETTLED))
            call.on_end.append(lambda: self._report(reports, call, CallPhase.ENDED))
        call.task = self.spawn(call.run())
        call.task.add_done_callback(lambda _t, tx=tx: self.pending.pop(tx, None))

    def _shed_stale(self, msg: Request, source: Source) -> bool:
        """A new INVITE that waited too long to be read gets 503 at once, statelessly
        (`sipconf.bridge.admission`); a retransmission or a re-INVITE goes on as usual."""
        if not self.admission.stale(source.queued):
            return False
        try:
            in_dialog = bool(msg.to.tag)
        except ValueError:
            in_dialog = False
        if in_dialog or self.tm.knows(msg):
            return False
        refusal = self.admission.refuse("queue_age")
        response = make_response(msg, refusal.status, refusal.reason, to_tag=stateless_tag(msg.top_via.branch or ""))
        for name, value in refusal.headers:
            response.add(name, value)
        source.send(response)
        self.doorman.remember(msg.top_via.branch or "")
        self._refused_stale()
        return True

    def _refused_stale(self) -> None:
        self.metrics.inbound_refused(503)
        self._shed += 1
        self._report_shed()

    def _refused_by_front(self, count: int) -> None:
        """`count` new INVITEs the UDP front answered 503 while this bridge was overloaded
        (`sipconf.bridge.front`): counted as this bridge's own refusals."""
        self.admission.refused["queue_age"] = self.admission.refused.get("queue_age", 0) + count
        self.metrics.inbound_refused(503, count)
        self._shed += count
        self._report_shed()

    def _report_shed(self, force: bool = False) -> None:
        """One WARNING per SHED_LOG_INTERVAL at most, with how many INVITEs got 503 since
        the last one (a flood must not turn into a log flood)."""
        if not self._shed:
            return
        now = self.clock.now()
        if not force and self._shed_logged_at is not None and now - self._shed_logged_at < SHED_LOG_INTERVAL:
            return
        counts = ", ".join(f"{why} {n}" for why, n in sorted(self.admission.refused.items()))
        log.warning("overload: %d INVITE(s) answered 503 Service Unavailable since the last report"
                    " (totals: %s; max calls %d)", self._shed, counts, self.max_calls)
        self._shed = 0
        self._shed_logged_at = now

    def _cancel(self, msg: Request, tx: ServerTransaction | None, target: InviteServerTransaction | None,
                finished: bool = False) -> None:
        if target is None and not finished:
            _answer(tx, msg, 481, "Call/Transaction Does Not Exist")
            return
        _answer(tx, msg, 200, "OK")
        if target is None:
            return  # its INVITE was answered and ACKed: nothing to cancel
        call = self.pending.get(target)
        if call is not None:
            call.cancel()
        elif target.state.name == "PROCEEDING":
            target.respond(make_response(target.request, 487, "Request Terminated", to_tag="cancelled"))

    def _bye(self, msg: Request, tx: ServerTransaction | None) -> None:
        try:
            has_tag = bool(msg.to.tag)
        except ValueError:
            has_tag = False
        if not has_tag:
            _answer(tx, msg, 400, "Bad Request")
            return
        call = self._dialog_call(msg)
        if call is None:
            _answer(tx, msg, 481, "Call does not exist")
            return
        _answer(tx, msg, 200, "OK")
        call.on_bye(msg)

    def _info(self, msg: Request, tx: ServerTransaction | None) -> None:
        """`--dtmf-info`: SIP INFO digits feed PIN entry (a feature LiveKit lacks)."""
        call = self._dialog_call(msg)
        digit = info_digit(msg.get("content-type"), msg.body)
        if call is None or digit is None or not getattr(call, "collecting_pin", False):
            _answer(tx, msg, 405, "Method Not Allowed", [("Allow", ALLOW)])
            return
        _answer(tx, msg, 200, "OK")
        call.on_digit(digit)


def _answer(tx: ServerTransaction | None, request: Request, status: int, reason: str,
            headers: list[tuple[str, str]] | None = None) -> None:
    if tx is None:
        return
    # RFC 3261 8.2.6.2: a final response to a request outside a dialog carries a To tag.
    resp = make_response(request, status, reason, to_tag=new_tag() if status > 100 else None)
    for name, value in headers or []:
        resp.add(name, value)
    try:
        tx.respond(resp)
    except ValueError:
        pass


def _listed(stored: TrunksAndRules) -> tuple[list, list, list]:
    """Legacy trunks join the inbound and outbound lists in their converted form, and trunks
    are sorted by id, as LiveKit lists them."""
    inbound = list(stored.inbound)
    inbound += [t for t in (legacy.legacy_to_inbound(x) for x in stored.legacy) if t is not None]
    outbound = list(stored.outbound)
    outbound += [t for t in (legacy.legacy_to_outbound(x) for x in stored.legacy) if t is not None]
    return (sorted(inbound, key=lambda t: t.sip_trunk_id), sorted(outbound, key=lambda t: t.sip_trunk_id),
            list(stored.rules))


def _unix_us() -> int:
    import time

    return int(time.time() * 1_000_000)
