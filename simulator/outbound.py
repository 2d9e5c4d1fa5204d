"""Outbound calls through the API: CreateSIPParticipant, TransferSIPParticipant, removal.

Shared by the drivers: only the far end differs (a Python UAS for scapy, SIPp for sipp).
Errors come back as the client's `SipCallError` (docs/livekit.md#api-errors): its `sip_status_code`
is the scenario's `sip_error` / `transfer.error`.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from livekit import api
from livekit.api.twirp_client import TwirpError

from sipconf.errors import UserError
from simulator.result import CallResult
from simulator.scenario.models import Call, Hangup, RemoveParticipant, Step, Transfer, Wait
from simulator.verify import LiveView, by_identity


def identity_of(call: Call) -> str:
    """The identity LiveKit gives an outbound participant when none is asked for
    (`sip_` + the number called, docs/livekit.md#outbound-request)."""
    return call.participant_identity or f"sip_{call.to}"


async def create(lv: LiveView, call: Call, result: CallResult, timeout: float) -> bool:
    """Dial; True when the participant is in the room (answered, or dialling when not waiting)."""
    trunk_id = await lv.outbound_trunk_id(call.trunk)
    if trunk_id is None:
        raise UserError(f"outbound trunk {call.trunk!r} is not in the live project (was the spec applied?)")
    req = api.CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id, sip_call_to=call.to, sip_number=call.from_, room_name=call.room,
        participant_identity=call.participant_identity, participant_name=call.participant_name,
        participant_attributes=dict(call.participant_attributes), dtmf=call.dtmf,
        wait_until_answered=call.wait_until_answered, headers=dict(call.headers),
    )
    try:
        await lv.lk.sip.create_sip_participant(req, timeout=timeout)
    except TwirpError as err:
        code = getattr(err, "sip_status_code", None)
        result.sip_error = int(code) if code else None
        result.errors.extend([] if code else [f"CreateSIPParticipant failed: {err.code}: {err.message}"])
        return False
    found = await lv.wait_for(by_identity(call.room, identity_of(call)), timeout)
    if found is not None:
        await lv.record(result, *found)
    return found is not None


async def transfer(lv: LiveView, call: Call, target: str, result: CallResult, timeout: float) -> None:
    req = api.TransferSIPParticipantRequest(
        room_name=call.room, participant_identity=identity_of(call), transfer_to=target, play_dialtone=False,
    )
    try:
        await lv.lk.sip.transfer_sip_participant(req, timeout=timeout)
    except TwirpError as err:
        code = getattr(err, "sip_status_code", None)
        if code:
            result.transfer_error = int(code)
        else:
            result.errors.append(f"TransferSIPParticipant failed: {err.code}: {err.message}")


async def remove(lv: LiveView, room: str, identity: str, result: CallResult) -> None:
    try:
        await lv.lk.room.remove_participant(api.RoomParticipantIdentity(room=room, identity=identity))
    except TwirpError as err:
        result.errors.append(f"RemoveParticipant failed: {err.code}: {err.message}")


async def play_steps(lv: LiveView, call: Call, steps: list[Step], result: CallResult, timeout: float,
                     answered: bool, wait_ended: Callable[[Wait], Awaitable[bool]] | None = None) -> None:
    """An answered outbound call's API-side steps (transfer, hang-up, removal), then the
    teardown: a call the steps left up is ended through the API, so the far end gets its BYE
    and the run never waits on a timer for one. LiveKit itself hangs up only after a
    successful transfer; a failed one (a NOTIFY 603) leaves the call as it was
    (docs/livekit.md#refer-flow). `wait_ended` waits for a `wait: ended` step at the far end and
    says whether it ended.
    """
    if not answered:
        return
    ended = False
    for step in steps:
        if ended:
            break
        if isinstance(step, Transfer):
            errors = len(result.errors)
            await transfer(lv, call, step.transfer, result, timeout)
            ended = result.transfer_error is None and len(result.errors) == errors
        elif isinstance(step, (Hangup, RemoveParticipant)):
            await remove(lv, call.room, identity_of(call), result)
            ended = True
        elif isinstance(step, Wait) and step.wait == "ended" and wait_ended is not None:
            ended = await wait_ended(step)
    if not ended:
        await remove(lv, call.room, identity_of(call), result)
