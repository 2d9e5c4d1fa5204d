"""Persistence across restarts, concurrent creates, and the store's atomic writes."""

from __future__ import annotations

import asyncio

import pytest
from livekit import api
from livekit.protocol import sip

from sipconf.local.store import OUTBOUND, StateStore
from sipconf.local.server import ControlPlane
KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"


def test_state_survives_a_restart_and_rooms_do_not(state_path):
    async def main():
        async with ControlPlane(state_path=state_path, api_key=KEY, api_secret=SECRET) as cp:
            async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                t = await lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(numbers=["+1"])))
                rule = sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="x"))
                r = await lk.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=sip.SIPDispatchRuleInfo(rule=rule)))
                await lk.room.create_room(api.CreateRoomRequest(name="x"))
        async with ControlPlane(state_path=state_path, api_key=KEY, api_secret=SECRET) as cp:
            async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                assert list((await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items) == [t]
                assert list((await lk.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())).items) == [r]
                assert not (await lk.room.list_rooms(api.ListRoomsRequest())).rooms
                # The conflict check still sees the stored trunk after the restart.
                with pytest.raises(api.TwirpError) as info:
                    await lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(numbers=["+1"])))
                assert info.value.code == "invalid_argument"

    asyncio.run(main())


def test_concurrent_creates_store_each_once_and_one_of_a_conflict(serve):
    async def scenario(cp, lk):
        many = [
            lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(numbers=[f"+1{i:03d}"])))
            for i in range(20)
        ]
        same = [
            lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(numbers=["+1999"])))
            for _ in range(5)
        ]
        results = await asyncio.gather(*many, *same, return_exceptions=True)
        ok = [r for r in results if isinstance(r, sip.SIPInboundTrunkInfo)]
        failed = [r for r in results if isinstance(r, api.TwirpError)]
        assert len(ok) == 21 and len(failed) == 4 and {e.code for e in failed} == {"invalid_argument"}
        listed = await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
        assert sorted(t.sip_trunk_id for t in listed.items) == sorted(t.sip_trunk_id for t in ok)

    serve(scenario)


def test_store_write_rolls_back_on_error(tmp_path):
    store = StateStore(tmp_path / "s.db")
    with store.write() as tx:
        tx.put(OUTBOUND, sip.SIPOutboundTrunkInfo(sip_trunk_id="ST_a", address="h"))
    with pytest.raises(RuntimeError):
        with store.write() as tx:
            tx.delete(OUTBOUND, "ST_a")
            raise RuntimeError("boom")
    assert [t.sip_trunk_id for t in store.all(OUTBOUND)] == ["ST_a"]
    with pytest.raises(ValueError, match="^cannot store a outbound_trunk without an id$"):
        with store.write() as tx:
            tx.put(OUTBOUND, sip.SIPOutboundTrunkInfo())
    store.close()
