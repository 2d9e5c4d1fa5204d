"""A real phone against `sipconf up`: baresip (tests/bridge/baresip_phone.py) calls in, answers,
sends and hears RFC 4733 digits, follows a REFER and puts the call on hold, with a spec applied
through the real client and every result read back through livekit-api.

One `sipconf up` serves the module; each test starts its phones and applies the spec with the
phone's address as the outbound trunk's (the first apply creates, the later ones update)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from livekit import api
from livekit.protocol import room as room_pb, sip as sip_pb

from simulator import embedded
from sipconf.sip.message import Request, Response
from sipconf.sip.sdp import SessionDescription
from sipconf.spec import loads

from tests.bridge.baresip_phone import Phone, running_baresip

CALLER = "+15550111"  # the phone's own number (its account's user)

SPEC = """\
version: 1
project: phone
trunks:
  carrier:
    inbound:
      numbers: ["+15550100", "+15550101"]
      allowed_addresses: ["127.0.0.1/32"]
    outbound:
      address: "{phone}"
      numbers: ["+15550200"]
dispatch_rules:
  front-desk:
    trunks: [carrier]
    numbers: ["+15550100"]
    direct: {{room: front-desk}}
    attributes: {{team: front-desk}}
  board:
    trunks: [carrier]
    numbers: ["+15550101"]
    direct: {{room: board, pin: "4321"}}
"""


@pytest.fixture(scope="module")
def up():
    running = embedded.start()
    try:
        yield running
    finally:
        running.stop()


def run(up, tmp_path, scenario, users: tuple[str, ...] = (CALLER,)) -> None:
    """`scenario(lk, *phones)`: one baresip per user, the first one the trunk's address."""

    async def main():
        async with AsyncExitStack() as stack:
            phones = [await stack.enter_async_context(running_baresip(tmp_path, user)) for user in users]
            spec = loads(SPEC.format(phone=phones[0].address), "phone-spec.yaml")
            await asyncio.to_thread(up.apply, spec, {})
            target = up.target
            lk = await stack.enter_async_context(api.LiveKitAPI(target.url, target.api_key, target.api_secret))
            try:
                await asyncio.wait_for(scenario(lk, *phones), 60)
            except BaseException:
                for phone in phones:  # what each phone saw, for the failure report
                    print(f"--- baresip {phone.user} ---\n{phone.log()[-6000:]}")
                print("--- sipconf up ---\n" + "\n".join(up.lines[-40:]))
                raise

    asyncio.run(main())


def bridge_uri(up, user: str) -> str:
    host, port = up.target.sip
    return f"sip:{user}@{host}:{port}"


async def participants(lk, room: str) -> list:
    return list((await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room))).participants)


async def active_participant(lk, room: str, patience: float = 20.0):
    """The room's participant once its call is active; `patience` only bounds a loaded machine."""
    deadline = asyncio.get_running_loop().time() + patience
    while asyncio.get_running_loop().time() < deadline:
        found = await participants(lk, room)
        if found and found[0].attributes.get("sip.callStatus") == "active":
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no active participant in {room}")


async def emptied(lk, room: str, patience: float = 20.0) -> bool:
    """Has the room's last participant left? `patience` only bounds a loaded machine."""
    deadline = asyncio.get_running_loop().time() + patience
    while asyncio.get_running_loop().time() < deadline:
        if not await participants(lk, room):
            return True
        await asyncio.sleep(0.05)
    return False


async def carrier(lk) -> sip_pb.SIPOutboundTrunkInfo:
    trunks = (await lk.sip.list_outbound_trunk(sip_pb.ListSIPOutboundTrunkRequest())).items
    return next(t for t in trunks if t.name == "carrier")


def answers_to_invites(phone: Phone) -> list[Response]:
    """The 200 OKs to INVITEs the phone received, in order."""
    return [m for sent, m in phone.sip_trace()
            if not sent and isinstance(m, Response) and m.status == 200 and m.cseq.method == "INVITE"]


def sent(phone: Phone, method: str) -> list[Request]:
    return [m for was_sent, m in phone.sip_trace() if was_sent and isinstance(m, Request) and m.method == method]


def test_a_call_from_the_phone_joins_the_routed_room_and_its_hang_up_removes_it(up, tmp_path):
    async def scenario(lk, phone):
        await phone.dial(bridge_uri(up, "+15550100"))
        established = await phone.control.event("CALL_ESTABLISHED")
        assert established["direction"] == "outgoing"
        p = await active_participant(lk, "front-desk")
        assert (p.identity, p.name) == (f"sip_{CALLER}", f"Phone {CALLER}")
        attributes = dict(p.attributes)
        assert (attributes["sip.phoneNumber"], attributes["sip.trunkPhoneNumber"]) == (CALLER, "+15550100")
        assert attributes["team"] == "front-desk"
        await phone.hangup()
        await phone.control.event("CALL_CLOSED")
        assert await emptied(lk, "front-desk")
        assert len(sent(phone, "BYE")) == 1

    run(up, tmp_path, scenario)


def test_the_phone_enters_the_pin_with_rfc_4733_digits(up, tmp_path):
    async def scenario(lk, phone):
        await phone.dial(bridge_uri(up, "+15550101"))
        await phone.control.event("CALL_ESTABLISHED")  # a PIN room answers at once
        assert await participants(lk, "board") == []
        await phone.send_digits("4321#")
        p = await active_participant(lk, "board")
        assert p.identity == f"sip_{CALLER}"
        # The digits went as telephone-events in RTP: the phone offered them, sent no INFO.
        offered = {c.name for c in SessionDescription.parse(sent(phone, "INVITE")[0].body).codecs()}
        assert "telephone-event" in offered and sent(phone, "INFO") == []
        await phone.hangup()
        assert await emptied(lk, "board")

    run(up, tmp_path, scenario)


def test_a_wrong_pin_from_the_phone_is_hung_up_by_the_bridge(up, tmp_path):
    async def scenario(lk, phone):
        await phone.dial(bridge_uri(up, "+15550101"))
        await phone.control.event("CALL_ESTABLISHED")
        await phone.send_digits("1111#")
        closed = await phone.control.event("CALL_CLOSED")
        assert closed["param"] == "Connection reset by peer"  # the bridge's BYE, not the phone's
        assert sent(phone, "BYE") == [] and await participants(lk, "board") == []

    run(up, tmp_path, scenario)


def test_an_outbound_call_is_answered_by_the_phone_which_hears_its_dtmf(up, tmp_path):
    async def scenario(lk, phone):
        trunk = await carrier(lk)
        info = await lk.sip.create_sip_participant(sip_pb.CreateSIPParticipantRequest(
            sip_trunk_id=trunk.sip_trunk_id, sip_call_to=CALLER, room_name="callout", dtmf="1234#",
            wait_until_answered=True))
        established = await phone.control.event("CALL_ESTABLISHED")
        assert established["direction"] == "incoming" and established["peeruri"].startswith("sip:+15550200@")
        p = await active_participant(lk, "callout")
        assert p.identity == info.participant_identity == f"sip_{CALLER}"
        await phone.control.event("CALL_DTMF_START", param="#")
        digits = "".join(e["param"] for e in phone.control.events if e["type"] == "CALL_DTMF_START")
        assert digits == "1234#"
        await lk.room.remove_participant(room_pb.RoomParticipantIdentity(room="callout", identity=p.identity))
        closed = await phone.control.event("CALL_CLOSED")
        assert closed["param"] == "Connection reset by peer"  # the bridge hung up

    run(up, tmp_path, scenario)


def test_the_phone_accepts_a_refer_and_calls_the_transfer_target(up, tmp_path):
    async def scenario(lk, phone, target):
        await phone.dial(bridge_uri(up, "+15550100"))
        p = await active_participant(lk, "front-desk")
        await lk.sip.transfer_sip_participant(sip_pb.TransferSIPParticipantRequest(
            room_name="front-desk", participant_identity=p.identity, transfer_to=target.uri))
        # The API returned: the phone's final NOTIFY said the target answered (RFC 3515).
        transfer = await phone.control.event("TRANSFER")
        assert transfer["param"] == f"<{target.uri}>"
        answered = await target.control.event("CALL_ESTABLISHED")
        assert answered["direction"] == "incoming" and answered["peeruri"] == phone.uri
        frags = [n.body.decode().strip() for n in sent(phone, "NOTIFY")]
        assert frags[0] == "SIP/2.0 100 Trying" and frags[-1] == "SIP/2.0 200 OK"
        assert await emptied(lk, "front-desk")  # the transferred call left the room

    run(up, tmp_path, scenario, users=(CALLER, "target"))


def test_the_phone_puts_the_call_on_hold_and_resumes_it(up, tmp_path):
    async def scenario(lk, phone):
        await phone.dial(bridge_uri(up, "+15550100"))
        await phone.control.event("CALL_ESTABLISHED")
        for command, offered, answered in (("hold", "sendonly", "recvonly"), ("resume", "sendrecv", "sendrecv")):
            mark = len(phone.control.events)
            await phone.control.command(command)
            await phone.control.event("CALL_REMOTE_SDP", start=mark, param="answer")
            reinvite = sent(phone, "INVITE")[-1]
            assert SessionDescription.parse(reinvite.body).direction == offered
            assert SessionDescription.parse(answers_to_invites(phone)[-1].body).direction == answered
        versions = [SessionDescription.parse(ok.body).origin.split()[2] for ok in answers_to_invites(phone)]
        assert versions == ["0", "1", "2"]  # RFC 3264 8: each changed answer is a new version
        p = await active_participant(lk, "front-desk")  # on the call all along
        assert p.identity == f"sip_{CALLER}"
        await phone.hangup()
        assert await emptied(lk, "front-desk")

    run(up, tmp_path, scenario)
