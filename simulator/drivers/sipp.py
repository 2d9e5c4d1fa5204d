"""The sipp driver: generated SIPp XML and the real binary.

SIPp plays the caller of inbound calls and the far end (UAS) of outbound and transfer calls.
While SIPp runs, the simulator reads the participant through the API; afterwards it parses
SIPp's `-trace_msg` log for the final status, the ladder and the INVITE the far end got.
Digits sent to the far end are decoded by the scripted agent's RTP socket (`sipconf.agent`),
which its SDP answer points at, since SIPp cannot decode RFC 4733.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from sipconf.agent import Media
from sipconf.agent.leg import event_payload_type
from sipconf.sip.message import Request
from simulator import outbound
from simulator.drivers.base import RunContext, resolve_secret
from simulator.drivers.scapy_driver import trunk_address, trunk_credentials, trunk_transport
from simulator.net import Capture
from simulator.result import CallResult
from simulator.scenario.reader import LoadedScenario
from simulator.scenario.models import FarEnd, Hangup, RemoveParticipant, Wait
from simulator.sippxml import uac_xml, uas_xml
from simulator.ports import wait_free
from simulator.sipprun import auth_uri, run_sipp, wait_bound
from simulator.sipptrace import messages, final_invite_response, parse_trace, received_invite, received_request, response_to
from simulator.verify import LiveView, by_call_id

import secrets


class SippDriver:
    name = "sipp"
    replays = False  # a real call: never placed twice

    def __init__(self, workdir: Path | None = None) -> None:
        # None: a private temporary folder per call. A fixed shared folder let two suites on
        # one machine (make demo next to make test) overwrite each other's scenario XML and
        # message trace -- a SIPp reading a half-written XML exits 255, "fatal error".
        self.workdir = workdir

    def cannot_run(self, loaded: LoadedScenario) -> str | None:
        if loaded.scenario.call.malformed:
            return "malformed messages are built by the scapy driver only"
        if loaded.scenario.call.transport not in ("udp", "tcp"):
            return f"SIPp runs UDP (-t u1) and TCP (-t t1), the scenario asks for {loaded.scenario.call.transport}"
        return None

    async def run(self, loaded: LoadedScenario, ctx: RunContext) -> CallResult:
        with tempfile.TemporaryDirectory(prefix="sipconf-sipp-") as tmp:
            workdir = self.workdir / re.sub(r"[^A-Za-z0-9._-]+", "_", loaded.id) if self.workdir else Path(tmp)
            async with LiveView(ctx.target) as lv:
                if loaded.scenario.call.direction == "outbound":
                    return await self._outbound(loaded, ctx, lv, workdir)
                return await self._inbound(loaded, ctx, lv, workdir)

    async def _inbound(self, loaded: LoadedScenario, ctx: RunContext, lv: LiveView, workdir: Path) -> CallResult:
        sc = loaded.scenario
        call = sc.call
        result = CallResult()
        call_id = f"sipconf-{secrets.token_hex(6)}"
        extra = ["-cid_str", call_id, "-s", call.to]
        # The password goes into the (private) scenario XML: `-ap` would show it in `ps`.
        credentials = (call.auth.username, resolve_secret(call.auth.password, ctx.environ)) if call.auth is not None else None
        xml = uac_xml(sc, ctx.target.sip[0], credentials=credentials)
        if call.auth is not None:  # not secret: the digest uri must be the Request-URI
            extra += ["-auth_uri", auth_uri(call.to, ctx.target.sip)]
        sipp = asyncio.create_task(run_sipp(xml, workdir, "caller", call.source, ctx.target.sip, extra,
                                            ctx.timeout * 2, transport=call.transport, secret=credentials is not None))
        removal = any(isinstance(s, RemoveParticipant) or (isinstance(s, Hangup) and s.hangup == "livekit")
                      for s in sc.steps)
        # Read where the call landed while SIPp holds it (the API is the only witness).
        found = await _until_done(lv.wait_for(by_call_id(call_id), ctx.timeout), sipp)
        if found is not None:
            await lv.record(result, *found)
            if removal:
                await outbound.remove(lv, found[0], found[1].identity, result)
        run = await sipp
        packets = parse_trace(run.trace, run.local, ctx.target.sip)
        result.packets = packets
        result.media_note = ("This driver's pcap holds signalling only: it is rebuilt from SIPp's message log, "
                             "and SIPp sends and receives its RTP (DTMF digits included) unrecorded.")
        result.notes += run.report("caller")
        if not packets:
            result.errors.append("sipp caller: no SIP message was exchanged (its message trace is empty)")
        final = final_invite_response(packets, run.local)
        if final is not None:
            result.status, result.reason, result.final = final.status, final.reason, True
        if run.returncode not in (0, 1):
            result.errors.append(f"sipp: {run.meaning}: {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ''}".rstrip(": "))
        waits_end = any(isinstance(s, Wait) and s.wait == "ended" for s in sc.steps)
        if waits_end and received_request(packets, run.local, "BYE") is None:
            result.errors.append("the call did not end: LiveKit sent no BYE")
        return result

    async def _outbound(self, loaded: LoadedScenario, ctx: RunContext, lv: LiveView, workdir: Path) -> CallResult:
        sc = loaded.scenario
        call = sc.call
        result = CallResult()
        address = trunk_address(ctx, call.trunk)
        if address is None:
            result.errors.append(f"outbound trunk {call.trunk!r} is not in the spec")
            return result
        capture = Capture()
        rtp = await Media.open(address[0], tap=capture.add)
        far = sc.far_end or FarEnd()
        transport = trunk_transport(ctx, call.trunk)
        # Every wait in the far end's XML is bounded by ctx.timeout, and SIPp's global timeout
        # (a backstop) sits between that and the runner's budget (3 x ctx.timeout), so a slow
        # run fails on the step that was slow, never on SIPp's clock.
        credentials = trunk_credentials(ctx, call.trunk)
        xml = uas_xml(sc, far, rtp.address[0], rtp.address[1], credentials, bye_timeout_ms=int(ctx.timeout * 1000))
        if not await wait_free(address, transport, ctx.timeout):
            result.errors.append(f"far end address {address[0]}:{address[1]} ({transport}) is held by another process")
            await rtp.close()
            return result
        sipp = asyncio.create_task(run_sipp(xml, workdir, "far_end", address[0], None, [],
                                            ctx.timeout * 2.5, local_port=address[1], transport=transport,
                                            secret=far.challenge and credentials is not None))
        try:
            if not await wait_bound(address, 5.0, sipp, transport):
                result.errors.append(f"sipp far end did not bind {address[0]}:{address[1]} ({transport})")
            answered = await outbound.create(lv, call, result, ctx.timeout)
            if answered and call.dtmf:
                await _wait_rtp(capture, ctx.timeout, sum(ch in "0123456789*#abcd" for ch in call.dtmf))
            await outbound.play_steps(lv, call, sc.steps, result, ctx.timeout, answered)
            run = await sipp
        finally:
            await rtp.close()
            if not sipp.done():
                sipp.cancel()
                await asyncio.gather(sipp, return_exceptions=True)  # run_sipp kills SIPp: the port is free again
        packets = parse_trace(run.trace, address, _bridge_of(run.trace, address))
        result.notes += run.report("far end")
        result.packets = sorted(packets + capture.packets, key=lambda p: p.time)
        final = final_invite_response(packets, _bridge_of(run.trace, address))  # what the far end answered
        if final is not None:
            result.status, result.reason, result.final = final.status, final.reason, True
        invite = received_invite(packets, address)
        if invite is not None:
            result.invite = {"request_uri": invite.uri, "from": invite.get("from"), "to": invite.get("to"),
                             "headers": {n: v for n, v in invite.headers}}
            if call.dtmf or sc.expect.digits is not None:
                # by the telephone-event type LiveKit offered; none offered, none decoded
                offered = event_payload_type(invite.body)
                result.digits = rtp.digits(offered) if offered is not None else ""
        refer = received_request(packets, address, "REFER")
        if refer is not None:
            result.refer_to = (refer.get("refer-to") or "").strip().strip("<>")
            result.refer_status = far.refer_status
            answered_notify = response_to(packets, "NOTIFY", address)
            result.notify = far.notify if answered_notify is not None and answered_notify.status == 200 else None
        if run.returncode not in (0, 1):
            detail = _last_error(run.stderr)
            result.errors.append(f"sipp far end: {run.meaning}" + (f" ({detail})" if detail and "timed out" not in run.meaning else ""))
        return result


def _last_error(stderr: str) -> str:
    lines = [line.split(": ", 1)[-1].strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _bridge_of(trace: str, address: tuple[str, int]) -> tuple[str, int]:
    """The bridge's SIP address, from the top Via of the INVITE the far end received
    (SIPp's log names no peer)."""
    for _, msg in messages(parse_trace(trace, address, ("0.0.0.0", 0))):
        if isinstance(msg, Request) and msg.method == "INVITE":
            try:
                via = msg.top_via
            except ValueError:
                break
            return (via.host, via.port or 5060)
    return ("0.0.0.0", 0)


async def _until_done(waiting, task: asyncio.Task):
    """`waiting`'s result, or None as soon as `task` (SIPp) finishes first."""
    waiter = asyncio.ensure_future(waiting)
    done, _ = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        return waiter.result()
    waiter.cancel()
    return None


async def _wait_rtp(capture: Capture, timeout: float, digits: int) -> None:
    """Wait until the end packets of `digits` events arrived (3 per digit), or `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        ends = sum(1 for p in capture.packets if len(p.data) >= 16 and p.data[13] & 0x80)
        if ends >= digits * 3:
            return
        await asyncio.sleep(0.05)
