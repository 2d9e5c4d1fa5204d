"""The inbound media timeout (docs/livekit.md#dispatch-outcomes and #media-merge) on a ManualClock:
LiveKit's 30 s before the first packet by default, or the merged `media.media_timeout` (trunk, then
rule) when set."""

from __future__ import annotations

import asyncio

from google.protobuf.duration_pb2 import Duration
from livekit import api
from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane

from tests.bridge.test_calls_inbound import KEY, SECRET, call, participants


def media(seconds: int | None) -> dict:
    return {} if seconds is None else {"media": sip_pb.SIPMediaConfig(media_timeout=Duration(seconds=seconds))}


def hangs_up_between(tmp_path, trunk_timeout, rule_timeout, alive_at: float, gone_at: float) -> None:
    async def main():
        clock = ManualClock()
        async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp:
            async with Bridge(bridge_ports(cp), clock=clock) as bridge:
                async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk, Agent() as peer:
                    trunk = sip_pb.SIPInboundTrunkInfo(name="open", numbers=["+15550100"], **media(trunk_timeout))
                    await lk.sip.create_inbound_trunk(sip_pb.CreateSIPInboundTrunkRequest(trunk=trunk))
                    rule = sip_pb.SIPDispatchRule(dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name="m"))
                    await lk.sip.create_dispatch_rule(sip_pb.CreateSIPDispatchRuleRequest(
                        dispatch_rule=sip_pb.SIPDispatchRuleInfo(rule=rule, **media(rule_timeout))))
                    _, ok = await call(bridge, peer)
                    assert ok.status == 200
                    assert len(await participants(lk, "m")) == 1
                    clock.advance(alive_at)
                    await asyncio.sleep(0.05)
                    assert len(await participants(lk, "m")) == 1, f"gone before {alive_at}s"
                    clock.advance(gone_at - alive_at)
                    bye, _ = await asyncio.wait_for(peer.request("BYE"), 5)
                    assert bye.method == "BYE"
                    assert await participants(lk, "m") == []

    asyncio.run(main())


def test_default_initial_media_timeout_is_30s(tmp_path):
    hangs_up_between(tmp_path, None, None, alive_at=29.5, gone_at=30.0)


def test_rule_media_timeout_applies(tmp_path):
    hangs_up_between(tmp_path, None, 5, alive_at=4.5, gone_at=5.0)


def test_rule_media_timeout_overrides_trunk(tmp_path):
    hangs_up_between(tmp_path, 40, 8, alive_at=7.5, gone_at=8.0)


def test_trunk_media_timeout_applies_without_rule_override(tmp_path):
    hangs_up_between(tmp_path, 45, None, alive_at=44.0, gone_at=45.0)
