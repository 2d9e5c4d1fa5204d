"""A caller agent calls a callee agent over real UDP and TCP sockets on 127.0.0.0/8."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from sipconf.agent import Agent, Script, TcpTransport
from sipconf.sip.message import Request

GUARD = 10.0

TRANSPORTS = ["udp", "tcp"]


@asynccontextmanager
async def pair(transport: str, script: Script | None = None, caller_host: str = "127.0.0.1"):
    """A callee listening on 127.0.0.1 and a caller (from `caller_host`) that reaches it."""
    async with Agent("127.0.0.1", transport=transport, user="callee") as callee_agent:
        callee = callee_agent.answer(script)
        remote = callee_agent.transport.local if transport == "tcp" else None
        async with Agent(caller_host, transport=transport, remote=remote, user="caller") as caller:
            yield caller, callee_agent, callee


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario(), GUARD))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_answered_call_then_caller_hangs_up(transport):
    async def scenario():
        async with pair(transport) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100",
                                     headers=[("X-Tier", "gold")])
            assert (call.final.status, call.final.reason) == (200, "OK")
            assert [r.status for r in caller.responses_to(call.invites[0])] == [100, 200]
            assert callee.invite.get("x-tier") == "gold" and callee.invite.from_.uri.user == "+15550111"
            bye = await call.bye()
            assert bye.status == 200
            assert await callee.leg.wait_ended(GUARD)
            assert callee.methods == ["INVITE", "ACK", "BYE"]

    run(scenario)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_callee_hangs_up(transport):
    async def scenario():
        async with pair(transport) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
            await callee_agent.wait_for(lambda m: isinstance(m, Request) and m.method == "ACK")
            assert (await callee.leg.bye()).status == 200
            assert await call.wait_ended(GUARD)

    run(scenario)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_busy_is_acked_in_the_invite_transaction(transport):
    async def scenario():
        async with pair(transport, Script(status=486)) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
            assert (call.final.status, call.final.reason) == (486, "Busy Here")
            assert not call.answered
            ack, _ = await callee_agent.request("ACK")
            assert ack.top_via.branch == call.invites[0].top_via.branch
            assert ack.to.tag == callee.tag and callee.legs == {}

    run(scenario)


@pytest.mark.parametrize("challenge", [401, 407])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_digest_challenge_is_answered_once(transport, challenge):
    async def scenario():
        script = Script(challenge=challenge, credentials=("acme", "s3cret"))
        async with pair(transport, script) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100",
                                     credentials=("acme", "s3cret"))
            assert call.final.status == 200
            assert [i.cseq.seq for i in call.invites] == [1, 2]
            first, second = (r.status for r in (caller.responses_to(i)[-1] for i in call.invites))
            assert (first, second) == (challenge, 200)
            header = "authorization" if challenge == 401 else "proxy-authorization"
            assert callee.invite.get(header).startswith("Digest ")

    run(scenario)


def test_wrong_credentials_get_403_and_none_get_the_challenge():
    async def scenario():
        script = Script(challenge=401, credentials=("acme", "s3cret"))
        async with pair("udp", script) as (caller, callee_agent, callee):
            target = callee_agent.transport.local
            wrong = await caller.call(target, "+15550111", "+15550100", credentials=("acme", "nope"))
            assert wrong.final.status == 403
            bare = await caller.call(target, "+15550111", "+15550100")
            assert bare.final.status == 401 and bare.final.get("www-authenticate").startswith("Digest realm=")
            assert callee.invites == []

    run(scenario)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rfc4733_digits_both_ways(transport):
    async def scenario():
        async with pair(transport) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
            await call.send_digits("12#", duration_ms=40, gap_ms=20)
            assert await callee.wait_digits(3, GUARD) == "12#"
            await callee.leg.send_digits("4*", duration_ms=40, gap_ms=20)
            assert await caller.media.wait_digits(2, GUARD) == "4*"

    run(scenario)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refer_is_accepted_and_reported_in_a_notify_sipfrag(transport):
    async def scenario():
        async with pair(transport, Script(refer_status=202, notify=503)) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
            answer = await call.send_request("REFER", [("Refer-To", "<sip:+15550199@127.0.0.1>")])
            assert answer.status == 202
            notify, _ = await caller.request("NOTIFY")
            assert notify.get("event") == "refer" and notify.body == b"SIP/2.0 503 Service Unavailable\r\n"
            assert notify.get("content-type").startswith("message/sipfrag")
            assert callee.leg.refer_to == "sip:+15550199@127.0.0.1"
            for _ in range(100):  # the caller's 200 to the NOTIFY is on its way back
                if callee.leg.notify_answer is not None:
                    break
                await asyncio.sleep(0.01)
            assert callee.leg.notify_answer == 200

    run(scenario)


def test_refused_refer_gets_no_notify():
    async def scenario():
        async with pair("udp", Script(refer_status=603)) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
            answer = await call.send_request("REFER", [("Refer-To", "<sip:x@127.0.0.1>")])
            assert answer.status == 603
            assert await call.bye() is not None
            assert not any(isinstance(m, Request) and m.method == "NOTIFY" for m, _ in caller.messages)

    run(scenario)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_caller_cancels_a_ringing_call(transport):
    async def scenario():
        async with pair(transport, Script(ring=True)) as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100", ringing=True)
            assert call.final is None and call.pending is not None
            final = await call.cancel()
            assert (final.status, final.reason) == (487, "Request Terminated")
            cancel, _ = await callee_agent.request("CANCEL")
            assert [r.status for r in caller.responses_to(cancel)] == [200]
            await callee_agent.request("ACK")
            assert callee.methods == ["INVITE", "CANCEL", "ACK"]

    run(scenario)


def test_sip_info_and_other_requests_in_the_call_get_200():
    async def scenario():
        async with pair("udp") as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
            assert (await call.info("5")).status == 200
            assert (await call.send_request("OPTIONS")).status == 200

    run(scenario)


def test_callee_answers_a_retransmitted_invite_with_the_same_response():
    async def scenario():
        async with pair("udp") as (caller, callee_agent, callee):
            target = callee_agent.transport.local
            invite = caller.invite(target, "+15550111", "+15550100")
            caller.send(invite, target)
            first = await caller.final_to(invite)
            mark = len(caller.messages)
            caller.send(invite, target)
            again, _ = await caller.wait_for(lambda m: getattr(m, "status", 0) == 200, start=mark)
            assert bytes(again) == bytes(first)
            assert callee.methods == ["INVITE"] and len(callee.invites) == 1

    run(scenario)


def test_any_loopback_source_and_bye_outside_a_call():
    async def scenario():
        async with pair("udp", caller_host="127.0.0.23") as (caller, callee_agent, callee):
            call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
            _, source = callee_agent.messages[0]
            assert source[0] == "127.0.0.23" and callee.invite.contacts[0].uri.host == "127.0.0.23"
            stray = call.dialog.request("BYE", caller.via)
            stray.set("Call-ID", "no-such-call")
            caller.send(stray, callee_agent.transport.local)
            assert (await caller.final_to(stray)).status == 481

    run(scenario)


def test_no_final_response_gives_none():
    async def scenario():
        async with Agent() as silent, Agent() as caller:
            call = await caller.call(silent.transport.local, "+15550111", "+15550100", timeout=0.2)
            assert call.final is None and not call.answered

    run(scenario)


def test_the_agent_never_sends_outside_loopback():
    async def scenario():
        async with Agent() as agent:
            with pytest.raises(ValueError, match="loopback addresses only, not '192.0.2.1'"):
                agent.send(b"x", ("192.0.2.1", 5060))

    run(scenario)


def test_tap_sees_sip_and_rtp_both_ways():
    async def scenario():
        seen: list[tuple] = []
        async with Agent(user="callee") as callee_agent:
            callee = callee_agent.answer()
            async with Agent(tap=lambda src, dst, data, kind: seen.append((src, dst, kind, data[:3]))) as caller:
                call = await caller.call(callee_agent.transport.local, "+15550111", "+15550100")
                await call.send_digits("1", duration_ms=20, gap_ms=0)
                await callee.wait_digits(1, GUARD)
                await call.bye()
        sip_out = [s for s in seen if s[0] == caller.transport.local]
        assert [d for *_, d in sip_out[:2]] == [b"INV", b"ACK"]
        assert any(s[1] == caller.transport.local and s[3] == b"SIP" for s in seen)
        assert any(s[0] == caller.media.address for s in seen)  # the digits' RTP

    run(scenario)


def test_malformed_invites_reach_the_peer_as_broken_bytes():
    async def scenario():
        async with pair("udp") as (caller, callee_agent, callee):
            target = callee_agent.transport.local
            no_call_id = await caller.call(target, "+15550111", "+15550100", malformed="missing-call-id", timeout=2)
            assert (no_call_id.final.status, no_call_id.final.get("call-id")) == (400, None)  # matched by its branch
            unparseable = await caller.call(target, "+15550111", "+15550100", malformed="bad-start-line", timeout=0.3)
            assert unparseable.final is None  # the callee cannot read it, so it answers nothing
            assert callee.invites == []

    run(scenario)


def test_an_agent_with_the_opt_in_still_sends_to_ip_literals_only():
    async def scenario():
        async with Agent(allow_external=True) as agent:
            assert agent.transport.allow_external and agent.media.socket.allow_external
            with pytest.raises(ValueError, match=r"IP addresses only, not 'localhost' \(host names are not resolved\)"):
                agent.send(b"x", ("localhost", 5060))
        async with Agent() as agent:
            assert not agent.transport.allow_external and not agent.media.socket.allow_external

    run(scenario)


def test_a_tcp_client_checks_its_remote_before_connecting():
    async def scenario():
        with pytest.raises(ValueError, match="loopback addresses only, not '192.0.2.1'"):
            await TcpTransport.connect("127.0.0.1", ("192.0.2.1", 5060))
        with pytest.raises(ValueError, match=r"IP addresses only, not 'sip.example.com'"):
            await TcpTransport.connect("127.0.0.1", ("sip.example.com", 5060), allow_external=True)

    run(scenario)
