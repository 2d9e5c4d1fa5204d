"""Digest auth through the real bridge on 127.0.0.1: the scripted agent calls over UDP, the
trunk is created with the real `livekit-api` client, timers run on a ManualClock.

What LiveKit would let through and sipconf refuses (README, "Deliberate deviations"): a
replayed credential, a stale nonce, credentials for another realm, nonce or uri, and
guessing past the back-off.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from livekit import api
from livekit.protocol import room as room_pb, sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.backoff import BackoffPolicy
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane
from sipconf.sip.digest import answer_challenge, parse_digest
from sipconf.sip.message import Request, Response
from tests.bridge.sipp_helpers import SIPP, free_port

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"
USER, PASSWORD = "acme", "s3cret"
CALLED = "+15550100"
# SIPCONF_SOAK=1: the full-size guessing run; the small one always runs.
GUESSES = 10_000 if os.environ.get("SIPCONF_SOAK") == "1" else 200


def run(tmp_path, scenario, timeout: float = 60, **bridge_kwargs) -> None:
    async def main():
        clock = ManualClock()
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp), clock=clock, **bridge_kwargs) as bridge:
                async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk, Agent() as peer:
                    await auth_trunk(lk)
                    await asyncio.wait_for(scenario(bridge, lk, peer, clock), timeout)

    asyncio.run(main())


async def auth_trunk(lk) -> None:
    trunk = sip_pb.SIPInboundTrunkInfo(name="carrier", numbers=[CALLED], auth_username=USER, auth_password=PASSWORD)
    await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(trunk=trunk))
    rule = sip_pb.SIPDispatchRule(dispatch_rule_individual=sip_pb.SIPDispatchRuleIndividual(room_prefix="call"))
    await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(rule=rule))


async def joined(lk) -> list[str]:
    """Every participant identity in every room."""
    rooms = (await lk.room.list_rooms(room_pb.ListRoomsRequest())).rooms
    out = []
    for room in rooms:
        found = await lk.room.list_participants(room_pb.ListParticipantsRequest(room=room.name))
        out += [p.identity for p in found.participants]
    return sorted(out)


async def send(peer: Agent, bridge: Bridge, caller: str, *, call_id: str, from_tag: str, cseq: int,
               authorization: str | None = None, uri: str | None = None) -> tuple[Request, Response]:
    """One INVITE (with `authorization` as its Proxy-Authorization) and its final response, ACKed."""
    target = bridge.udp_address
    headers = [("Proxy-Authorization", authorization)] if authorization else []
    invite = peer.invite(target, caller, CALLED, call_id=call_id, from_tag=from_tag, cseq=cseq, headers=headers)
    if uri is not None:
        invite.uri = uri
    peer.send(invite, target)
    final = await peer.final_to(invite)
    peer.send(peer.ack_for(invite, final), target)
    return invite, final


def summary(response: Response) -> tuple[int, str]:
    return response.status, response.reason


def test_a_captured_credential_cannot_be_replayed(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        call = await peer.call(bridge.udp_address, "+15550111", CALLED, credentials=(USER, PASSWORD))
        assert call.final.status == 200
        captured = call.invites[-1].get("proxy-authorization")
        # The same Call-ID for five other callers (new From tags): each is challenged afresh.
        for n in range(5):
            _, final = await send(peer, bridge, f"+1555099{n}", call_id=call.call_id, from_tag=f"mallory{n}",
                                  cseq=10 + n, authorization=captured)
            assert summary(final) == (407, "Unauthorized")
            assert parse_digest(final.get("proxy-authenticate"))["nonce"] != parse_digest(captured)["nonce"]
        # The same caller and From tag again, in a new transaction: the nonce was used.
        _, final = await send(peer, bridge, "+15550111", call_id=call.call_id, from_tag=call.from_tag, cseq=20,
                              authorization=captured)
        assert summary(final) == (407, "Unauthorized")
        # A new Call-ID: no challenge was sent for it (LiveKit's own answer), then one was.
        _, final = await send(peer, bridge, "+15550111", call_id="fresh-call", from_tag="t1", cseq=1,
                              authorization=captured)
        assert summary(final) == (401, "Bad credentials")
        _, challenge = await send(peer, bridge, "+15550111", call_id="fresh-call", from_tag="t1", cseq=2)
        assert challenge.status == 407
        _, final = await send(peer, bridge, "+15550111", call_id="fresh-call", from_tag="t1", cseq=3,
                              authorization=captured)
        assert summary(final) == (401, "Unauthorized")
        assert await joined(lk) == ["sip_+15550111"]

    run(tmp_path, scenario)


def test_a_stale_nonce_is_rechallenged_and_the_fresh_answer_gets_in(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        invite, challenge = await send(peer, bridge, "+15550111", call_id="slow", from_tag="ft", cseq=1)
        assert challenge.status == 407
        clock.advance(300)  # the nonce's lifetime
        late = answer_challenge(challenge.get("proxy-authenticate"), "INVITE", invite.uri, USER, PASSWORD)
        _, stale = await send(peer, bridge, "+15550111", call_id="slow", from_tag="ft", cseq=2, authorization=late)
        assert summary(stale) == (407, "Unauthorized")
        params = parse_digest(stale.get("proxy-authenticate"))
        assert params["stale"] == "true" and params["nonce"] != parse_digest(late)["nonce"]
        fresh = answer_challenge(stale.get("proxy-authenticate"), "INVITE", invite.uri, USER, PASSWORD)
        _, final = await send(peer, bridge, "+15550111", call_id="slow", from_tag="ft", cseq=3, authorization=fresh)
        assert final.status == 200
        assert await joined(lk) == ["sip_+15550111"]

    run(tmp_path, scenario)


def test_wrong_realm_nonce_or_uri_is_refused(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        cases = [
            ("realm", "Other", (401, "Unauthorized")),
            ("nonce", "1700000000000000-realm", (401, "Unauthorized")),
            ("uri", f"sip:+15550199@{bridge.udp_address[0]}:{bridge.udp_address[1]}",
             (400, "Digest uri does not match the Request-URI")),
        ]
        for n, (name, value, refused) in enumerate(cases):
            call_id = f"mismatch-{name}"
            invite, challenge = await send(peer, bridge, "+15550111", call_id=call_id, from_tag="ft", cseq=1)
            params = parse_digest(challenge.get("proxy-authenticate"))
            params[name] = value
            creds = answer_challenge(f'Digest realm="{params["realm"]}", nonce="{params["nonce"]}"', "INVITE",
                                     params.get("uri", invite.uri), USER, PASSWORD)
            _, final = await send(peer, bridge, "+15550111", call_id=call_id, from_tag="ft", cseq=2,
                                  authorization=creds)
            assert summary(final) == refused, name
        assert await joined(lk) == []
        # The uri is compared as RFC 3261 19.1.4 says: parameter order and case, the default port.
        host, port = bridge.udp_address
        request_uri = f"sip:{CALLED}@{host}:{port};user=phone;transport=udp"
        invite, challenge = await send(peer, bridge, "+15550111", call_id="sbc", from_tag="ft", cseq=1,
                                       uri=request_uri)
        creds = answer_challenge(challenge.get("proxy-authenticate"), "INVITE",
                                 f"sip:{CALLED}@{host}:{port};TRANSPORT=UDP;user=phone", USER, PASSWORD)
        _, final = await send(peer, bridge, "+15550111", call_id="sbc", from_tag="ft", cseq=2, authorization=creds,
                              uri=request_uri)
        assert final.status == 200

    run(tmp_path, scenario)


def let_through(attempts: int, spacing: float, policy: BackoffPolicy) -> int:
    """How many of `attempts` wrong answers, one every `spacing` seconds from one source, the
    policy lets be checked: the model the bridge must follow."""
    checked, recent, until, length = 0, [], 0.0, policy.first
    for n in range(attempts):
        now = n * spacing
        if now < until:
            continue
        checked += 1
        recent = [t for t in recent if now - t < policy.window] + [now]
        if len(recent) >= policy.failures:
            until, recent = now + length, []
            length = min(length * 2, policy.longest)
    return checked


@pytest.mark.parametrize("guesses", [GUESSES], ids=[f"{GUESSES}-wrong-answers"])
def test_guessing_backs_off_then_the_right_answer_gets_in(tmp_path, guesses):
    async def scenario(bridge, lk, peer, clock):
        statuses, retry_after = [], []
        for _ in range(guesses):
            call = await peer.call(bridge.udp_address, "+15550111", CALLED, credentials=(USER, "guess"))
            statuses.append(call.final.status)
            if call.final.status == 503:
                retry_after.append(int(call.final.get("retry-after")))
            clock.advance(1)  # one guess a second
        checked = let_through(guesses, 1, BackoffPolicy())
        assert checked < guesses / 5
        assert statuses.count(401) == checked and statuses.count(503) == guesses - checked
        assert statuses[:10] == [401] * 10 and statuses[10] == 503
        assert retry_after[0] == 29  # the 30 s back-off began with the guess a second before
        assert max(retry_after) <= 900
        assert bridge.config.backoff.counters.failures == checked
        exposed = {(f.name, tuple(sorted(labels.items()))): value
                   for f in bridge.metrics.families(bridge) for labels, value in f.samples}
        assert exposed[("sipconf_sip_auth_backoffs_total", (("event", "refused"),))] == guesses - checked
        assert exposed[("sipconf_sip_auth_backoffs_active", ())] == 1
        # Another source with the right password gets in at once.
        async with Agent("127.0.0.2") as other:
            call = await other.call(bridge.udp_address, "+15550112", CALLED, credentials=(USER, PASSWORD))
            assert call.final.status == 200
            assert await joined(lk) == ["sip_+15550112"]
        # This source is still backed off, even with the right password...
        call = await peer.call(bridge.udp_address, "+15550111", CALLED, credentials=(USER, PASSWORD))
        assert call.final.status == 503
        wait = int(call.final.get("retry-after"))
        # ...until the back-off has passed.
        clock.advance(wait)
        call = await peer.call(bridge.udp_address, "+15550111", CALLED, credentials=(USER, PASSWORD))
        assert call.final.status == 200
        assert "sip_+15550111" in await joined(lk)

    run(tmp_path, scenario, timeout=60 + guesses * 0.1)


def test_a_trusted_proxy_is_backed_off_per_username(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        # Ten wrong answers through the carrier's proxy (127.0.0.1 and 127.0.0.2)...
        for _ in range(10):
            call = await peer.call(bridge.udp_address, "+15550111", CALLED, credentials=(USER, "guess"))
            assert call.final.status == 401
        # ...back off the username on every address of the proxy,
        async with Agent("127.0.0.2") as proxy:
            call = await proxy.call(bridge.udp_address, "+15550112", CALLED, credentials=(USER, PASSWORD))
            assert (call.final.status, call.final.get("retry-after")) == (503, "30")
            # but not another username through it,
            call = await proxy.call(bridge.udp_address, "+15550112", CALLED, credentials=("other", PASSWORD))
            assert summary(call.final) == (401, "Unauthorized")
        # and not a source outside the proxy's addresses.
        async with Agent("127.0.1.1") as direct:
            call = await direct.call(bridge.udp_address, "+15550113", CALLED, credentials=(USER, PASSWORD))
            assert call.final.status == 200

    run(tmp_path, scenario, trusted_proxies=["127.0.0.1", "127.0.0.2/32"])


def test_the_back_off_numbers_are_bridge_settings(tmp_path):
    async def scenario(bridge, lk, peer, clock):
        for _ in range(3):
            call = await peer.call(bridge.udp_address, "+15550111", CALLED, credentials=(USER, "guess"))
            assert call.final.status == 401
        call = await peer.call(bridge.udp_address, "+15550111", CALLED, credentials=(USER, PASSWORD))
        assert (call.final.status, call.final.get("retry-after")) == (503, "5")
        clock.advance(5)
        invite, challenge = await send(peer, bridge, "+15550111", call_id="short", from_tag="ft", cseq=1)
        clock.advance(10)  # the nonce lifetime
        creds = answer_challenge(challenge.get("proxy-authenticate"), "INVITE", invite.uri, USER, PASSWORD)
        _, stale = await send(peer, bridge, "+15550111", call_id="short", from_tag="ft", cseq=2, authorization=creds)
        assert parse_digest(stale.get("proxy-authenticate")).get("stale") == "true"

    run(tmp_path, scenario, auth_backoff=BackoffPolicy(failures=3, window=10, first=5, longest=20), nonce_lifetime=10)


_SIPP_INVITE = """
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:+15550111@[local_ip]>;tag=[pid]sipp[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: [cseq] INVITE
Contact: <sip:+15550111@[local_ip]:[local_port]>
{authentication}Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""
# RFC 3261 17.1.1.3: the ACK of a non-2xx final reuses the INVITE's Via (branch) and CSeq.
_SIPP_ACK_FAILURE = """
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: [cseq] ACK
Max-Forwards: 70
Content-Length: 0

"""
_SIPP_IN_DIALOG = """
{method} [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: [cseq] {method}
Max-Forwards: 70
Content-Length: 0

"""


def sipp_send(text: str, retrans: bool = False) -> str:
    attributes = ' retrans="500"' if retrans else ""
    return f"  <send{attributes}><![CDATA[{text}]]></send>\n"


def sipp_auth_uac(final: int) -> str:
    """INVITE, 407, the INVITE again with SIPp's [authentication], then `final`: a 200 is
    ACKed and the call hung up, anything else ACKed."""
    out = ['<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="digest uac">\n',
           sipp_send(_SIPP_INVITE.format(authentication=""), retrans=True),
           '  <recv response="100" optional="true" />\n  <recv response="407" auth="true" />\n',
           sipp_send(_SIPP_ACK_FAILURE),
           sipp_send(_SIPP_INVITE.format(authentication="[authentication]\n"), retrans=True),
           '  <recv response="100" optional="true" />\n  <recv response="180" optional="true" />\n',
           f'  <recv response="{final}" rrs="true" />\n']
    if final == 200:
        out += [sipp_send(_SIPP_IN_DIALOG.format(method="ACK")),
                sipp_send(_SIPP_IN_DIALOG.format(method="BYE"), retrans=True), '  <recv response="200" />\n']
    else:
        out.append(sipp_send(_SIPP_ACK_FAILURE))
    out.append("</scenario>\n")
    return "".join(out)


async def sipp_call(tmp_path, bridge: Bridge, *auth_args: str) -> int:
    xml = tmp_path / "uac.xml"
    host, port = bridge.udp_address
    ports = ["-p", str(free_port()), "-mp", str(free_port())]
    proc = await asyncio.create_subprocess_exec(
        SIPP, "-sf", str(xml), "-s", CALLED, "-au", USER, "-ap", PASSWORD, *auth_args, "-i", "127.0.0.1", *ports,
        "-m", "1", "-nostdin", "-timeout", "15s", f"{host}:{port}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=tmp_path)
    return await asyncio.wait_for(proc.wait(), 30)


def test_sipp_answers_the_challenge_and_gets_in(tmp_path):
    """SIPp's own digest answer ([authentication]) is let in when its uri is the
    Request-URI (`-auth_uri`); SIPp's default uri, `sip:<remote_ip>:<remote_port>`, is not."""

    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp)) as bridge, api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                await auth_trunk(lk)
                host, port = bridge.udp_address
                (tmp_path / "uac.xml").write_text(sipp_auth_uac(200))
                assert await sipp_call(tmp_path, bridge, "-auth_uri", f"{CALLED}@{host}:{port}") == 0
                (tmp_path / "uac.xml").write_text(sipp_auth_uac(400))
                assert await sipp_call(tmp_path, bridge) == 0
                counters = bridge.config.digest.counters
                assert (counters.challenges, counters.accepted, counters.wrong_answers) == (2, 1, 0)

    asyncio.run(main())
