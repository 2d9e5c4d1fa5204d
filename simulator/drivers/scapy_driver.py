"""The scapy driver: SIP built as bytes over UDP from any 127.0.0.0/8 source, RTP
telephone-events, a Python far end for outbound calls, and every datagram kept for a pcap
(written with scapy's `wrpcap` by the report; scapy has no SIP layer, so SIP is bytes).
"""

from __future__ import annotations

import asyncio

from simulator.drivers.base import RunContext, resolve_secret
from simulator.farend import FarEndUas
from simulator.net import Capture
from simulator.ports import wait_free
from simulator import outbound
from simulator.result import CallResult
from simulator.scenario.reader import LoadedScenario
from simulator.scenario.models import Dtmf, FarEnd, Hangup, RemoveParticipant, Transfer, Wait
from simulator.uac import Uac
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
        uac = await Uac.open(call.source, ctx.target.sip, capture, transport=call.transport, from_user=call.from_, to_user=call.to,
                             from_host=call.from_host or call.source, headers=dict(call.headers))
        try:
            final = await uac.call(creds, call.malformed)
            if final is not None:
                result.status, result.reason, result.final = final.status, final.reason, True
            if final is None or final.status >= 300:
                return
            # Where did it land? Read it back from the API (the PIN flow joins later).
            if not any(isinstance(s, Dtmf) for s in sc.steps):
                await self._snapshot(lv, uac, result, ctx.timeout)
            for step in sc.steps:
                if isinstance(step, Wait):
                    if step.wait == "joined":
                        await self._snapshot(lv, uac, result, step.timeout)
                    elif step.wait == "ended":
                        await uac.serve(step.timeout)
                        if not uac.ended.is_set():
                            result.errors.append(f"the call did not end within {step.timeout:g}s")
                elif isinstance(step, Dtmf):
                    if step.method == "info":
                        for digit in step.dtmf:
                            resp = await uac.info_digit(digit, step.duration_ms)
                            result.trace.append(f"INFO {digit}: {resp.status if resp else 'no answer'}")
                    else:
                        await uac.send_digits(step.dtmf, step.duration_ms, step.gap_ms)
                elif isinstance(step, Hangup):
                    if step.hangup == "caller":
                        if not uac.ended.is_set():
                            await uac.bye()
                    elif result.room and result.identity:
                        await outbound.remove(lv, result.room, result.identity, result)
                        await uac.serve(ctx.timeout)
                elif isinstance(step, RemoveParticipant):
                    if result.room and result.identity:
                        await outbound.remove(lv, result.room, result.identity, result)
                        await uac.serve(ctx.timeout)
                elif isinstance(step, Transfer):
                    result.errors.append("a transfer needs an outbound call (the far end answers the REFER)")
        finally:
            await uac.aclose()

    async def _snapshot(self, lv: LiveView, uac: Uac, result: CallResult, timeout: float) -> None:
        if result.joined:
            return
        found = await lv.wait_for(by_call_id(uac.call_id), timeout)
        if found is not None:
            await lv.record(result, *found)

    async def _outbound(self, loaded, ctx, lv: LiveView, capture: Capture, result: CallResult) -> None:
        sc = loaded.scenario
        call = sc.call
        address = trunk_address(ctx, call.trunk)
        if address is None:
            result.errors.append(f"outbound trunk {call.trunk!r} is not in the spec")
            return
        if not await wait_free(address, trunk_transport(ctx, call.trunk), ctx.timeout):
            result.errors.append(f"far end address {address[0]}:{address[1]} is held by another process")
            return
        far = await FarEndUas.start(sc.far_end or FarEnd(), address, capture, trunk_credentials(ctx, call.trunk),
                                    trunk_transport(ctx, call.trunk))
        try:
            answered = await outbound.create(lv, call, result, ctx.timeout)
            if answered and call.dtmf:
                wanted = sum(ch in "0123456789*#abcd" for ch in call.dtmf)
                await far.wait_digits(wanted, ctx.timeout)

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
            result.invite = far.invite
            result.digits = far.digits if call.dtmf or sc.expect.digits is not None else None
            result.refer_to, result.refer_status = far.refer_to, far.refer_status
            result.notify = far.notify_sent if far.notify_answered == 200 else None
            if far.invite is not None and result.status is None and answered:
                result.status, result.reason, result.final = 200, "OK", True
        finally:
            await far.stop()
