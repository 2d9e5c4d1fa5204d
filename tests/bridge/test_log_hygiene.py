"""A packet never writes into the operator's terminal: control bytes, ANSI escapes and bidi
overrides from a message reach the log escaped, in the bridge's own warnings and in
everything `sipconf up` writes to stderr."""

from __future__ import annotations

import asyncio
import logging

from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.transport import SipServer
from tests.local.up_process import start_up

from .hostile_helpers import answer_requests_ok, options, udp_client, udp_probe_answered

EVIL = "\x1b[2J\x1b[31mRED\x07\u202eX\x9b1m"
ESCAPED = "\\x1b[2J\\x1b[31mRED\\x07\\u202eX\\x9b1m"


def test_a_packet_s_control_bytes_reach_the_transport_s_warnings_escaped(caplog):
    caplog.set_level(logging.DEBUG, "sipconf.bridge")

    async def main():
        async with SipServer(answer_requests_ok) as server:
            sender, replies, local = await udp_client()
            try:
                sender.sendto(options(f"SIP/2.0/UDP {local[0]}:{local[1]};maddr={EVIL};branch=z9hG4bKe1"),
                              server.udp_address)
                sender.sendto(f"OPTIONS sip:x SIP/2.0\r\nVia: {EVIL}\r\nCSeq: 1 OPTIONS\r\n\r\n".encode(),
                              server.udp_address)
                sender.sendto(f"\x1b]0;owned\x07 garbage {EVIL}\r\n\r\n".encode(), server.udp_address)
                await udp_probe_answered(sender, replies, local, server.udp_address)
            finally:
                sender.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("sipconf.bridge")]
    assert len(messages) == 3
    assert all(m.isprintable() for m in messages), [m for m in messages if not m.isprintable()]
    assert messages[0] == f"not sent to {ESCAPED}:{messages[0].split(':')[1]}: not an IP address (host names are never resolved)"


def test_sipconf_up_writes_a_caller_s_control_bytes_escaped(tmp_path):
    """The call outcome line quotes the Call-ID, the caller's number and the trunk's name as
    they came."""
    up = start_up(tmp_path / "s.db", errors="replace")
    try:
        target = up.sip_target

        async def call():
            async with api.LiveKitAPI(*up.credentials) as lk:
                await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(
                    trunk=sip_pb.SIPInboundTrunkInfo(name=f"t{EVIL}", numbers=["+15550100"])))
            async with Agent() as peer:
                invite = peer.invite(target, f"+1555{EVIL}", "+15550100", call_id=f"evil{EVIL}")
                peer.send(invite, target)
                final = await peer.final_to(invite, 10)
                assert final.status == 404  # no dispatch rule: rejected, and logged
                peer.send(peer.ack_for(invite, final), target)

        asyncio.run(asyncio.wait_for(call(), 30))
        _out, err = up.stop()
        assert up.proc.returncode == 0, err
    finally:
        up.kill()
    [outcome] = [l for l in err.splitlines() if " INFO sipconf.bridge.calls.inbound: inbound call " in l]
    assert f"Call-ID evil{ESCAPED}: +1555{ESCAPED} -> +15550100 " in outcome
    assert " trunk ST_" in outcome and f" (t{ESCAPED}) rule - room -: 404 " in outcome  # a name from the API, escaped
    assert all(line.isprintable() for line in err.splitlines())
