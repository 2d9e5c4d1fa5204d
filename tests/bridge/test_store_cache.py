"""The bridge decodes trunks and rules again only when the trunk directory's version moves:
over the embedded control plane's store, changes made on the control plane's own connection
and on another connection to the same file are both seen by the very next INVITE."""

from __future__ import annotations

import asyncio

from livekit.protocol import sip as sip_pb

from sipconf.agent import Agent
from sipconf.bridge.clock import ManualClock
from sipconf.bridge.server import Bridge
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.server import ControlPlane
from sipconf.local.store import INBOUND, RULE, StateStore

from tests.bridge.test_calls_inbound import KEY, SECRET, call


def trunk(numbers: list[str]) -> sip_pb.SIPInboundTrunkInfo:
    return sip_pb.SIPInboundTrunkInfo(sip_trunk_id="ST_cachetrunk001", name="t", numbers=numbers)


def rule(room: str) -> sip_pb.SIPDispatchRuleInfo:
    return sip_pb.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_cacherule001", rule=sip_pb.SIPDispatchRule(
        dispatch_rule_direct=sip_pb.SIPDispatchRuleDirect(room_name=room)))


def test_every_store_change_reaches_the_next_call(tmp_path):
    async def main():
        other = StateStore(tmp_path / "s.db")
        try:
            async with ControlPlane(state_path=tmp_path / "s.db", api_key=KEY, api_secret=SECRET) as cp, \
                    Bridge(bridge_ports(cp), clock=ManualClock()) as bridge, Agent() as peer:
                mine, rooms = cp.store, cp.rooms
                assert (await call(bridge, peer))[1].reason == "No trunk found"
                with other.write() as tx:  # another connection (another process, for SQLite)
                    tx.put(INBOUND, trunk(["+15550100"]))
                assert (await call(bridge, peer))[1].reason == "Does not match Trunks or Dispatch Rules"
                with mine.write() as tx:  # the control plane's own connection
                    tx.put(RULE, rule("first"))
                assert (await call(bridge, peer))[1].status == 200
                assert len(rooms.list_participants("first")) == 1
                with other.write() as tx:
                    tx.put(RULE, rule("second"))
                assert (await call(bridge, peer))[1].status == 200
                assert len(rooms.list_participants("second")) == 1
                with mine.write() as tx:
                    tx.put(INBOUND, trunk(["+15550199"]))
                assert (await call(bridge, peer))[1].reason == "No trunk found"
                for call_ in list(bridge.dialogs.values()):
                    call_.hangup("test over")
                await asyncio.sleep(0)
        finally:
            other.close()

    asyncio.run(main())


def test_store_version_moves_on_commits_only(tmp_path):
    a, b = StateStore(tmp_path / "v.db"), StateStore(tmp_path / "v.db")
    try:
        first = a.version()
        assert a.version() == first
        with b.write() as tx:
            tx.put(INBOUND, trunk(["+1"]))
        second = a.version()
        assert second != first
        with a.write() as tx:
            assert a.version() is None  # a write is open: nothing may be cached from it
            tx.put(RULE, rule("r"))
        assert a.version() not in (first, second, None)
    finally:
        a.close()
        b.close()
