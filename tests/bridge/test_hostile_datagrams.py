"""One message never stops a listener: datagrams and TCP messages whose address fields
broke it (a Via `rport=70000` made asyncio close the UDP socket for good) are sent over real
UDP and TCP to a running bridge; each is followed by a normal call that must complete, and
nothing may have been sent off loopback or to a name."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sipconf.agent import Agent
from sipconf.bridge.dialog import Dialog
from sipconf.bridge.transport import SipServer
from sipconf.sip.message import Request

from .hostile_helpers import (GUARD, answer_requests_ok, bridge_bye_to, call_completes, options, recorded_wire,
                              routed_bridge, tcp_probe_answered, udp_client, udp_probe_answered)

# (name, top Via with {host}:{port} of the sending socket, is the reply sent?)
KILLERS = [
    ("rport above 65535", "SIP/2.0/UDP {host}:{port};received=127.0.0.1;rport=70000;branch=z9hG4bKk1", False),
    ("rport 0", "SIP/2.0/UDP {host}:{port};received=127.0.0.1;rport=0;branch=z9hG4bKk2", False),
    ("rport of 5000 digits", "SIP/2.0/UDP other.invalid:{port};rport=" + "7" * 5000 + ";branch=z9hG4bKk3", False),
    ("rport of fullwidth digits", "SIP/2.0/UDP other.invalid:{port};rport=\uff16\uff10;branch=z9hG4bKk4", False),
    ("maddr with a NUL byte", "SIP/2.0/UDP {host}:{port};maddr=127.0.0.1\x00evil;branch=z9hG4bKk5", False),
    ("maddr a host name", "SIP/2.0/UDP {host}:{port};maddr=ss1.example.com;branch=z9hG4bKk6", False),
    ("maddr off loopback", "SIP/2.0/UDP {host}:{port};maddr=192.0.2.1;branch=z9hG4bKk7", False),
    ("maddr broadcast", "SIP/2.0/UDP {host}:{port};maddr=255.255.255.255;branch=z9hG4bKk8", False),
    ("maddr IPv6 on the IPv4 socket", "SIP/2.0/UDP {host}:{port};maddr=[::1];branch=z9hG4bKk9", False),
    ("maddr IPv6 with a zone", "SIP/2.0/UDP {host}:{port};maddr=[fe80::1%eth0];branch=z9hG4bKk10", False),
    ("maddr with ANSI escapes", "SIP/2.0/UDP {host}:{port};maddr=\x1b[2J\x1b[31m;branch=z9hG4bKk11", False),
    ("received not an IP", "SIP/2.0/UDP {host}:{port};received=not-an-ip;branch=z9hG4bKk12", True),
    ("received off loopback", "SIP/2.0/UDP {host}:{port};received=192.0.2.7;branch=z9hG4bKk13", True),
    ("Via host with a NUL byte", "SIP/2.0/UDP 127.0.0.1\x00:{port};rport;branch=z9hG4bKk14", True),
    ("Via host a name", "SIP/2.0/UDP evil.example.com:{port};branch=z9hG4bKk15", True),
    ("Via port 0", "SIP/2.0/UDP {host}:0;branch=z9hG4bKk16", False),
    ("Via IPv6 garbage", "SIP/2.0/UDP [::1:zz:]:{port};branch=z9hG4bKk17", True),
    ("Via IPv6 unclosed", "SIP/2.0/UDP [::1:{port};branch=z9hG4bKk18", True),  # a 400, to the source
    ("Via not UTF-8", "SIP/2.0/UDP \udcff\udcfe:{port};branch=z9hG4bKk19;maddr=\udcc0\udc80", False),
    ("Via of control bytes", "SIP/2.0/UDP \x01\x02\x7f:{port};branch=z9hG4bKk20", True),
]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_each_killer_message_costs_only_itself_and_a_normal_call_follows(tmp_path, transport):
    async def main(wire):
        async with routed_bridge(tmp_path, wire) as (bridge, lk, _clock):
            sender, replies, local = await udp_client(wire)
            try:
                for name, via, answered in KILLERS:
                    unsendable = bridge.sip.unsendable
                    call_id = f"killer-{len(name)}-{name.split()[0]}"
                    data = options(via.format(host=local[0], port=local[1]), call_id)
                    if transport == "udp":
                        sender.sendto(data, bridge.udp_address)
                        await udp_probe_answered(sender, replies, local, bridge.udp_address)
                        got_reply = any(f"Call-ID: {call_id}".encode() in r for r in replies.received)
                        assert (got_reply, bridge.sip.unsendable - unsendable) == (answered, 0 if answered else 1), name
                    else:
                        # RFC 3261 18.2.2: over TCP the answer goes back on the connection, whatever the Via says.
                        received = await tcp_probe_answered(bridge.tcp_address, before=data)
                        assert f"Call-ID: {call_id}".encode() in received, name
                    await call_completes(bridge, lk, transport, wire)
                    assert not bridge.sip._udp_transport.is_closing(), name
                    assert bridge.sip.failed == 0, name
            finally:
                sender.close()

    with recorded_wire() as wire:
        asyncio.run(asyncio.wait_for(main(wire), 120))
    assert wire.off_loopback() == [] and wire.names_looked_up() == []


CONTACTS = [
    ("<sip:caller@127.0.0.1:99999>", None),  # does not parse: the dialog falls back to the From URI
    ("<sip:caller@192.0.2.1:5060>", "in-dialog target sip:caller@192.0.2.1:5060: only loopback IP addresses are reachable"),
    ("<sip:caller@evil.example.com>", "in-dialog target sip:caller@evil.example.com: not an IP address (host names"
                                      " are never resolved)"),
    ("<sip:caller@evil.example.com;transport=tcp>", "in-dialog target sip:caller@evil.example.com;transport=tcp:"
                                                    " not an IP address (host names are never resolved)"),
    ("<sip:caller@[2001:db8::1]:5060>", "in-dialog target sip:caller@[2001:db8::1]:5060: only loopback IP addresses"
                                        " are reachable"),
    ("<sip:caller@127.0.0.1:0>", "in-dialog target sip:caller@127.0.0.1:0: not a port number (1-65535)"),
]


@pytest.mark.parametrize(("contact", "failure"), CONTACTS)
def test_a_bye_to_a_hostile_contact_fails_that_request_only(tmp_path, caplog, contact, failure):
    """The bridge hangs up (the API removed the participant): its BYE goes to the caller's
    Contact only when that is a loopback IP literal with a real port."""
    caplog.set_level(logging.WARNING, "sipconf.bridge")

    async def main(wire):
        async with routed_bridge(tmp_path, wire) as (bridge, lk, clock):
            async with Agent() as peer:
                wire.reachable.update({peer.transport.local, peer.media.address})
                await bridge_bye_to(bridge, lk, clock, peer, contact)
            await call_completes(bridge, lk, "udp", wire)
            assert bridge.sip.failed == 0

    with recorded_wire() as wire:
        asyncio.run(asyncio.wait_for(main(wire), 60))
    assert wire.off_loopback() == [] and wire.names_looked_up() == []
    failures = [r.getMessage() for r in caplog.records if "BYE failed" in r.getMessage()]
    if failure is None:
        assert [f.split(": BYE failed: ")[1] for f in failures] == ["transaction timed out after 0 provisional responses"]
    else:
        assert [f.split(": BYE failed: ")[1] for f in failures] == [failure]


def test_a_handler_that_raises_costs_one_message_on_udp_and_tcp(caplog):
    """Whatever escapes the handler is caught where the message was read: logged (a few
    lines per second at most, the rest counted), and the next message is served."""
    caplog.set_level(logging.WARNING, "sipconf.bridge.transport")

    def handler(message, source):
        if isinstance(message, Request) and message.call_id.startswith("boom"):
            raise OverflowError("as sendto raises for a port above 65535")
        answer_requests_ok(message, source)

    async def main():
        async with SipServer(handler) as server:
            sender, replies, local = await udp_client()
            try:
                via = f"SIP/2.0/UDP {local[0]}:{local[1]};rport;branch=z9hG4bKboom"
                for n in range(20):
                    sender.sendto(options(via, f"boom-{n}"), server.udp_address)
                await udp_probe_answered(sender, replies, local, server.udp_address)
                boom = options(f"SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKboom", "boom-tcp")
                await tcp_probe_answered(server.tcp_address, before=boom)
                assert server.failed == 21
                assert not server._udp_transport.is_closing()
            finally:
                sender.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    lines = [r for r in caplog.records if "handling it failed" in r.getMessage()]
    assert 1 <= len(lines) <= 5  # one burst per second: 21 failures within it
    assert lines[0].getMessage().startswith("dropped UDP message from 127.0.0.1:")
    assert lines[0].getMessage().endswith("handling it failed: OverflowError: as sendto raises for a port above 65535")
    assert lines[0].exc_info is not None  # a bug: the traceback is kept, in the few lines written


@pytest.mark.parametrize(("address", "allow_external", "sent_to"), [
    ("127.0.0.1", False, "127.0.0.1"),
    ("192.0.2.1", False, None),
    ("media.example.com", False, None),
    ("192.0.2.1", True, "192.0.2.1"),  # the operator's --allow-external-dial lets media leave loopback too
    ("media.example.com", True, None),  # and a name from a message is never resolved
])
def test_rtp_goes_to_the_sdp_address_only_when_it_may(tmp_path, caplog, address, allow_external, sent_to):
    caplog.set_level(logging.WARNING, "sipconf.bridge.media")

    async def main(wire):
        async with routed_bridge(tmp_path, wire, allow_external_dial=allow_external) as (bridge, lk, clock):
            async with Agent() as peer:
                wire.reachable.update({peer.transport.local, peer.media.address})
                target = bridge.udp_address
                invite = peer.invite(target, "+15550111", "+15550100")
                invite.body = invite.body.replace(b"IN IP4 127.0.0.1", f"IN IP4 {address}".encode())
                peer.send(invite, target)
                ok = await peer.final_to(invite, GUARD)
                assert ok.status == 200
                peer.send(peer.ack_for(invite, ok), target)
                clock.advance(0.1)  # five 20 ms ticks
                bye = Dialog.from_uac(invite, ok).create_request("BYE", peer.via)
                peer.send(bye, target)
                assert (await peer.final_to(bye, GUARD)).status == 200
            return peer.media.address[1]

    with recorded_wire() as wire:
        media_port = asyncio.run(asyncio.wait_for(main(wire), 30))
    media_targets = {host for host, port in wire.sent if port == media_port}
    assert media_targets == ({sent_to} if sent_to else set())
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("RTP not sent to")]
    assert len(refusals) == (0 if sent_to else 1)
    assert wire.names_looked_up() == []
