"""The scapy driver: the scripted agent (`sipconf.agent`) over UDP or TCP from any
127.0.0.0/8 source, as the caller of inbound calls and the far end of outbound ones, RFC 4733
telephone-events, and every datagram kept for a pcap (written with scapy's `wrpcap` by the
report; scapy has no SIP layer, so SIP is bytes).
"""

from __future__ import annotations

import asyncio

from sipconf.agent import Agent, Call, Callee, Script
from simulator.drivers.base import RunContext, resolve_secret
from simulator.net import Capture
from simulator.ports import wait_free
from simulator import outbound
from simulator.result import CallResult
from simulator.scenario.reader import LoadedScenario
from simulator.scenario.models import Dtmf, FarEnd, Hangup, RemoveParticipant, Transfer, Wait
from simulator.verify import LiveView, by_call_id


def trunk_address(ctx: RunContext, name: str) -> tuple[str, int] | None:
    obj = ctx.desired.find("outbound_trunk", name)
    if obj is None:
        return None
    host, _, port = obj.message.address.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else (obj.message.address, 5060)


def trunk_transport(ctx: RunContext, name: str) -> str:
    """"tcp" or "udp": how LiveKit reaches the outbound trunk's far end."""
    from livekit.protocol import sip as sip_pb

    obj = ctx.desired.find("outbound_trunk", name)
    return "tcp" if obj is not None and obj.message.transport == sip_pb.SIP_TRANSPORT_TCP else "udp"


def trunk_credentials(ctx: RunContext, name: str) -> tuple[str, str] | None:
    obj = ctx.desired.find("outbound_trunk", name)
    if obj is None:
        return None
    msg = obj.resolve(ctx.environ)
    return (msg.auth_username, msg.auth_password) if msg.auth_username else None


FINAL_TIMEOUT = 8.0  # seconds to wait for a final response before calling it "none"


class ScapyDriver:
    name = "scapy"

    def cannot_run(self, loaded: LoadedScenario) -> str | None:
        call = loaded.scenario.call
        if call.transport == "tcp" and call.malformed:
            return "malformed messages are sent over UDP only (a TCP stream would lose its framing)"
        return None

    async def run(self, loaded: LoadedScenario, ctx: RunContext) -> CallResult:
        capture = Capture()
        result = CallResult(packets=capture.packets)
        async with LiveView(ctx.target) as lv:
            if loaded.scenario.call.direction == "outbound":
                await self._outbound(loaded, ctx, lv, capture, result)
            else:
                await self._inbound(loaded, ctx, lv, capture, result)
        return result

    async def _inbound(self, loaded, ctx, lv: LiveView, capture: Capture, result: CallResult) -> None:
        sc = loaded.scenario
        call = sc.call
        creds = (call.auth.username, resolve_secret(call.auth.password, ctx.environ)) if call.auth else None
        remote = ctx.target.sip if call.transport == "tcp" else None
        async with Agent(call.source, transport=call.transport, remote=remote, tap=capture.add) as agent:
            placed = await agent.call(ctx.target.sip, call.from_, call.to, credentials=creds,
                                      headers=list(call.headers.items()), from_host=call.from_host or call.source,
                                      malformed=call.malformed, timeout=FINAL_TIMEOUT)
            final = placed.final
            if final is not None:
                result.status, result.reason, result.final = final.status, final.reason, True
            if not placed.answered:
                return
            # Where did it land? Read it back from the API (the PIN flow joins later).
            if not any(isinstance(s, Dtmf) for s in sc.steps):
                await self._snapshot(lv, placed.call_id, result, ctx.timeout)
            for step in sc.steps:
                await self._inbound_step(step, placed, lv, ctx, result)
            if not placed.ended.is_set():  # the steps left the call up: the caller hangs up, as SIPp's does
                await placed.bye()

    async def _inbound_step(self, step, placed: Call, lv: LiveView, ctx: RunContext, result: CallResult) -> None:
        if isinstance(step, Wait):
            if step.wait == "joined":
                await self._snapshot(lv, placed.call_id, result, step.timeout)
            elif step.wait == "ended" and not await placed.wait_ended(step.timeout):
                result.errors.append(f"the call did not end within {step.timeout:g}s")
        elif isinstance(step, Dtmf):
            if step.method == "info":
                for digit in step.dtmf:
                    resp = await placed.info(digit, step.duration_ms)
                    result.trace.append(f"INFO {digit}: {resp.status if resp else 'no answer'}")
            elif placed.remote_rtp is None:
                result.errors.append("the answer's SDP gave no RTP address to send the digits to")
            else:
                await placed.send_digits(step.dtmf, step.duration_ms, step.gap_ms)
        elif isinstance(step, Hangup) and step.hangup == "caller":
            if not placed.ended.is_set():
                await placed.bye()
        elif isinstance(step, (Hangup, RemoveParticipant)):
            await self._snapshot(lv, placed.call_id, result, ctx.timeout)  # after a PIN, not read yet
            if result.room and result.identity:
                await outbound.remove(lv, result.room, result.identity, result)
                await placed.wait_ended(ctx.timeout)  # the agent answers LiveKit's BYE
        elif isinstance(step, Transfer):
            result.errors.append("a transfer needs an outbound call (the far end answers the REFER)")

    async def _snapshot(self, lv: LiveView, call_id: str, result: CallResult, timeout: float) -> None:
        if result.joined:
            return
        found = await lv.wait_for(by_call_id(call_id), timeout)
        if found is not None:
            await lv.record(result, *found)

    async def _outbound(self, loaded, ctx, lv: LiveView, capture: Capture, result: CallResult) -> None:
        sc = loaded.scenario
        call = sc.call
        address = trunk_address(ctx, call.trunk)
        if address is None:
            result.errors.append(f"outbound trunk {call.trunk!r} is not in the spec")
            return
        transport = trunk_transport(ctx, call.trunk)
        if not await wait_free(address, transport, ctx.timeout):
            result.errors.append(f"far end address {address[0]}:{address[1]} is held by another process")
            return
        async with Agent(address[0], address[1], transport=transport, tap=capture.add, user="far-end") as agent:
            far = agent.answer(far_end_script(sc.far_end or FarEnd(), trunk_credentials(ctx, call.trunk)))
            answered = await outbound.create(lv, call, result, ctx.timeout)
            if answered and call.dtmf:
                await far.wait_digits(sum(ch in "0123456789*#abcd" for ch in call.dtmf), ctx.timeout)

            async def wait_ended(step: Wait) -> bool:
                try:
                    await asyncio.wait_for(far.ended.wait(), step.timeout)
                    return True
                except (asyncio.TimeoutError, TimeoutError):
                    result.errors.append(f"the call did not end within {step.timeout:g}s")
                    return False

            await outbound.play_steps(lv, call, sc.steps, result, ctx.timeout, answered, wait_ended)
            if answered:
                try:  # the far end answers the teardown's BYE before it stops
                    await asyncio.wait_for(far.ended.wait(), ctx.timeout)
                except (asyncio.TimeoutError, TimeoutError):
                    result.errors.append(f"the far end got no BYE within {ctx.timeout:g}s")
            record_far_end(far, result, call.dtmf or sc.expect.digits is not None)
            if far.invite is not None and result.status is None and answered:
                result.status, result.reason, result.final = 200, "OK", True


def far_end_script(spec: FarEnd, credentials: tuple[str, str] | None) -> Script:
    """The scenario's far end as the agent's callee script; its challenge is a 401, the form
    both far ends (this one and SIPp's <verifyauth>) ask with."""
    return Script(status=spec.status, challenge=401 if spec.challenge and credentials else None,
                  credentials=credentials, refer_status=spec.refer_status, notify=spec.notify)


def record_far_end(far: Callee, result: CallResult, digits: bool) -> None:
    """What the far end saw: the INVITE, the digits, the REFER and how its NOTIFY went."""
    invite = far.invite
    if invite is not None:
        result.invite = {"request_uri": invite.uri, "from": invite.get("from"), "to": invite.get("to"),
                         "headers": {name: value for name, value in invite.headers}}
    result.digits = far.digits if digits else None
    leg = far.leg
    if leg is not None and leg.refer is not None:
        result.refer_to, result.refer_status = leg.refer_to, leg.refer_status
        result.notify = leg.notify if leg.notify_request is not None and leg.notify_answer == 200 else None
