"""Vector kinds `inbound_sip_flow` and `transfer_flow` (docs/livekit.md#test-vectors).

Both drive the real bridge (`sipconf.bridge.server.Bridge` and its call logic) over loopback
UDP sockets with a scripted peer and a manual clock, on an in-memory control plane
(`memory_ports`), through which the runner also observes the calls. Only the decision layer
is fixed, as the vectors say (`FixedDecisions` replaces `route.authenticate/dispatch`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sipconf.bridge.calls.decisions import FixedDecisions
from sipconf.agent import Agent
from sipconf.agent.build import reason_for
from sipconf.bridge.calls.transfer import start_transfer
from sipconf.bridge.clock import ManualClock
from sipconf.sip.digest import answer_challenge, parse_digest
from sipconf.sip.headers import NameAddr
from sipconf.bridge.dialog import Dialog
from sipconf.sip.message import Request, Response
from sipconf.bridge.server import Bridge
from sipconf.bridge.transaction import build_ack_for_non2xx
from sipconf.conformance.compare import compare
from sipconf.conformance.memory_ports import MemoryControlPlane
from sipconf.routing.errors import LiveKitError
from sipconf.routing.evaluate import Evaluation
from sipconf.routing.route import AuthResult, AuthStep, Outcome
from sipconf.sip.status_lines import ANSWERED, NO_RULE_MATCHED, TRY_AGAIN, UNEXPECTED_RESULT
from livekit.protocol import sip as sip_pb

ROOM, CALLER, CALLEE = "flow-room", "flow-caller", "flow-callee"
# Where the fixed DispatchAccept puts the caller.
_JOIN = Evaluation("ACCEPT", room_name=ROOM, participant_identity=CALLER, participant_name=CALLER)

# The vectors' AuthResult names. LiveKit's switch over AuthResult has no default case, so a
# name it does not know goes on to dispatch as AuthAccept does.
_AUTH: dict[str, AuthResult] = {
    "AuthAccept": "accept", "AuthPassword": "password", "AuthDrop": "drop",
    "AuthNotFound": "not_found", "AuthQuotaExceeded": "quota_exceeded", "AuthNoTrunkFound": "no_trunk_found",
}
# The vectors' DispatchResult names as routing outcomes; a result the SIP service does not
# know is answered 501.
_DISPATCH: dict[str, Outcome] = {
    "DispatchAccept": Outcome("accept", *ANSWERED, evaluation=_JOIN),
    "DispatchRequestPin": Outcome("request_pin", *ANSWERED),
    "DispatchNoRuleReject": Outcome("reject", *NO_RULE_MATCHED),
    "DispatchNoRuleDrop": Outcome("drop", None, ""),
    "DispatchServiceUnavailable": Outcome("error", *TRY_AGAIN),
}
_UNEXPECTED_DISPATCH = Outcome("reject", *UNEXPECTED_RESULT)


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


# ---- inbound_sip_flow ------------------------------------------------------------------------

def _decisions(inp: dict[str, Any]) -> FixedDecisions:
    auth = inp.get("auth_handler") or {}
    disp = inp.get("dispatch_handler") or {}
    return FixedDecisions(
        auth=AuthStep(_AUTH.get(auth.get("result", "AuthAccept"), "accept"),
                      username=auth.get("username", ""), password=auth.get("password", ""),
                      realm=auth.get("realm", "")),
        auth_error=auth.get("error"),
        dispatch_answer=_DISPATCH.get(disp.get("result", "DispatchAccept"), _UNEXPECTED_DISPATCH),
    )


async def _inbound_flow(inp: dict[str, Any]) -> dict[str, Any]:
    decisions = _decisions(inp)
    clock = ManualClock()
    control_plane = MemoryControlPlane()
    count = int(inp.get("invites", 1))
    auth_retry = "first_invite" in inp and (inp["first_invite"] or {}).get("proxy_authorization") is None \
        and decisions.auth is not None and decisions.auth.result == "password"
    if auth_retry:
        count = max(count, 2)
    async with Bridge(control_plane.ports, decisions=decisions, clock=clock,
                      hide_inbound_port=bool(inp.get("hide_inbound_port"))) as bridge, Agent() as peer:
        target = bridge.udp_address
        invites: list[Request] = []
        challenge: str | None = None
        for i in range(count):
            headers = []
            if auth_retry and i > 0 and challenge is not None:
                uri = f"sip:{inp.get('to_user', '')}@{target[0]}:{target[1]}"
                headers.append(("Proxy-Authorization", answer_challenge(
                    challenge, "INVITE", uri, decisions.auth.username, decisions.auth.password)))
            invite = peer.invite(target, inp.get("from_user", ""), inp.get("to_user", ""),
                                 call_id=inp.get("call_id"), from_tag=inp.get("from_tag"), cseq=i + 1,
                                 headers=headers)
            invites.append(invite)
            peer.send(invite, target)
            await control_plane.reports.wait_settled(i + 1)
            await asyncio.sleep(0.01)  # loopback delivery of what the bridge sent
            for resp in peer.responses_to(invite):
                if resp.status >= 200:
                    peer.send(_ack(invite, resp, peer), target)
                if resp.status == 407:
                    challenge = resp.get("proxy-authenticate")
        per_invite = [[r.status for r in peer.responses_to(inv)] for inv in invites]
        finals = [next((r for r in peer.responses_to(inv) if r.status >= 200), None) for inv in invites]
        actual: dict[str, Any] = {
            "final_responses": [f.status if f else None for f in finals],
            "final_reason": next((f.reason for f in reversed(finals) if f is not None), None),
            "auth_calls": decisions.auth_calls,
            "dispatch_calls": decisions.dispatch_calls,
            "responses": per_invite[0] if per_invite else [],
            "first_invite_responses": per_invite[0] if per_invite else [],
            "second_invite_first_response": per_invite[1][0] if len(per_invite) > 1 and per_invite[1] else None,
        }
        first_challenge = next((r for r in peer.responses_to(invites[0]) if r.status in (401, 407)), None)
        if first_challenge is not None:
            name = "Proxy-Authenticate" if first_challenge.status == 407 else "WWW-Authenticate"
            params = parse_digest(first_challenge.get(name) or "Digest ")
            actual["challenge_header"] = name if first_challenge.get(name) is not None else None
            actual["challenge_algorithm"] = params.get("algorithm")
            actual["challenge_realm_default"] = params.get("realm")
        return actual


def _ack(invite: Request, resp: Response, peer: Agent) -> Request:
    if resp.status < 300:
        return peer.ack_for(invite, resp)
    return build_ack_for_non2xx(invite, resp)


def check_inbound_sip_flow(vector: dict[str, Any]) -> list[str]:
    actual = _run(_inbound_flow(vector["input"]))
    return compare(vector["expect"], actual)


# ---- transfer_flow ---------------------------------------------------------------------------

async def _inbound_call(bridge: Bridge, peer: Agent) -> Dialog:
    target = bridge.udp_address
    invite = peer.invite(target, "+15550001111", "+15550002222")
    peer.send(invite, target)
    ok = await peer.final_to(invite)
    peer.send(peer.ack_for(invite, ok), target)
    return Dialog.from_uac(invite, ok)


async def _outbound_call(control_plane: MemoryControlPlane, peer: Agent) -> Dialog:
    trunk = sip_pb.SIPOutboundTrunkInfo(sip_trunk_id="ST_flowtrunk0001", name="flow",
                                        address=f"{peer.host}:{peer.port}", numbers=["+15550003333"])
    control_plane.directory.put(trunk)
    req = sip_pb.CreateSIPParticipantRequest(sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550004444",
                                             room_name=ROOM, participant_identity=CALLER, wait_until_answered=True)
    created = asyncio.ensure_future(control_plane.calls.create_sip_participant(req))
    invite, addr = await peer.request("INVITE")
    ok = peer.response(invite, 200, tag="peer-tag", headers=[("Contact", peer.contact)], body=peer.offer())
    peer.send(ok, addr)
    await created
    return Dialog.from_uas(invite, ok, peer.contact)


async def _transfer_flow(inp: dict[str, Any], direction: str) -> dict[str, Any]:
    decisions = FixedDecisions(dispatch_answer=_DISPATCH["DispatchAccept"])
    clock = ManualClock()
    control_plane = MemoryControlPlane()
    async with Bridge(control_plane.ports, decisions=decisions, clock=clock) as bridge, Agent() as peer:
        target = bridge.udp_address
        dialog = await (_outbound_call(control_plane, peer) if direction == "outbound"
                        else _inbound_call(bridge, peer))
        call = bridge.participants[(ROOM, CALLER)]
        mark = len(peer.messages)
        xfer = await start_transfer(bridge, call, inp["transfer_to"], dict(inp.get("headers") or {}), 30.0)
        refer, addr = await peer.request("REFER", start=mark)
        peer.send(peer.response(refer, int(inp["refer_response"])), addr)
        if inp.get("remote_bye_after_refer"):
            await _peer_bye(peer, dialog, target)
        notify_answers = []
        for status in inp.get("notify_statuses") or []:
            notify = dialog.create_request(
                "NOTIFY", peer.via, [("Event", "refer"), ("Subscription-State", "active;expires=60")],
                body=f"SIP/2.0 {status} {reason_for(status)}".encode(), content_type="message/sipfrag")
            peer.send(notify, target)
            notify_answers.append((await peer.final_to(notify)).status)
        if inp.get("remote_bye_after"):
            await _peer_bye(peer, dialog, target)
        result, error = "success", None
        try:
            await asyncio.wait_for(asyncio.shield(xfer.outcome), 5)
        except LiveKitError as err:
            result, error = "error", err
        # Let the 1 s wait for the peer's BYE run out on the manual clock.
        while xfer.task is not None and not xfer.task.done():
            clock.advance(0.05)
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.01)
        byes = [m for m, _ in peer.messages[mark:] if isinstance(m, Request) and m.method == "BYE"]
        actual: dict[str, Any] = {
            "refer_headers": _refer_headers(refer),
            "notify_responses": notify_answers,
            "bye_sent_by_livekit": bool(byes),
            "result": result,
            "error_sip_status": _sip_status(error),
        }
        return actual


async def _peer_bye(peer: Agent, dialog: Dialog, target) -> None:
    bye = dialog.create_request("BYE", peer.via)
    peer.send(bye, target)
    await peer.final_to(bye)


def _refer_headers(refer: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in refer.headers:
        if name.lower() == "refer-to":
            addr = NameAddr.parse(value)
            params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in addr.params)
            value = f"<{addr.uri}>{params}"  # a parsed Refer-To re-renders as <uri> (docs/livekit.md#known-gaps)
            name = "Refer-To"
        out.setdefault(name, value)
    return out


def _sip_status(err: LiveKitError | None) -> dict[str, Any] | None:
    if err is None or "sip_status_code" not in err.meta:
        return None
    return {"code": int(err.meta["sip_status_code"]), "status": err.meta.get("sip_status", "")}


def _refer_special(want: Any, actual: dict[str, Any]) -> str | None:
    got = actual.get("refer_headers") or {}
    lower = {k.lower(): v for k, v in got.items()}
    for name, value in (want or {}).items():
        if lower.get(name.lower()) != value:
            return f"refer_headers: {name}: expected {value!r}, got {lower.get(name.lower())!r}"
    return None


def check_transfer_flow(vector: dict[str, Any]) -> list[str]:
    """The Go test of `transfer_flow` runs the same sequence on an inbound and an outbound call, and
    the expectation holds for both, so both are driven."""
    out: list[str] = []
    for direction in ("inbound", "outbound"):
        actual = _run(_transfer_flow(vector["input"], direction))
        out += [f"{direction}: {m}" for m in compare(vector["expect"], actual, special={"refer_headers": _refer_special})]
    return out


KINDS = {"inbound_sip_flow": check_inbound_sip_flow, "transfer_flow": check_transfer_flow}
