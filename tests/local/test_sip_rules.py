"""Dispatch-rule CRUD and calls through the real client."""

from __future__ import annotations

import re

import pytest
from livekit import api
from livekit.protocol import models, sip

RULE_ID = re.compile(r"^SDR_[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]{12}$")


def direct(room: str, pin: str = "", **fields) -> sip.CreateSIPDispatchRuleRequest:
    rule = sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name=room, pin=pin))
    return sip.CreateSIPDispatchRuleRequest(dispatch_rule=sip.SIPDispatchRuleInfo(rule=rule, **fields))


async def expect_error(coro, code: str, message: str, status: int):
    with pytest.raises(api.TwirpError) as info:
        await coro
    assert (info.value.code, info.value.message, info.value.status) == (code, message, status)
    return info.value


def test_rule_create_list_update_delete(serve):
    async def scenario(cp, lk):
        r = await lk.sip.create_dispatch_rule(direct("lobby", name="lobby", trunk_ids=["ST_a"], attributes={"team": "x"}))
        assert RULE_ID.match(r.sip_dispatch_rule_id)
        assert r.HasField("media")  # Upgrade() on dispatch-rule create
        u = await lk.sip.update_dispatch_rule_fields(r.sip_dispatch_rule_id, trunk_ids=models.ListUpdate(add=["ST_b"]), attributes={"team": "", "k": "v"})
        assert list(u.trunk_ids) == ["ST_a", "ST_b"] and dict(u.attributes) == {"k": "v"} and u.rule == r.rule
        repl = sip.SIPDispatchRuleInfo(name="n", rule=sip.SIPDispatchRule(dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix="call")))
        replaced = await lk.sip.update_dispatch_rule(r.sip_dispatch_rule_id, repl)
        expected = sip.SIPDispatchRuleInfo()
        expected.CopyFrom(repl)
        expected.sip_dispatch_rule_id = r.sip_dispatch_rule_id
        assert replaced == expected
        deleted = await lk.sip.delete_dispatch_rule(sip.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=r.sip_dispatch_rule_id))
        assert deleted == replaced
        await expect_error(
            lk.sip.delete_dispatch_rule(sip.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=r.sip_dispatch_rule_id)),
            "not_found", "requested sip dispatch rule does not exist", 404,
        )
        await expect_error(lk.sip.delete_dispatch_rule(sip.DeleteSIPDispatchRuleRequest()), "invalid_argument", "dispatch rule ID is required", 400)

    serve(scenario)


def test_rule_conflicts_and_validation(serve):
    async def scenario(cp, lk):
        first = await lk.sip.create_dispatch_rule(direct("a", name="first", trunk_ids=["ST_t"]))
        await expect_error(
            lk.sip.create_dispatch_rule(direct("b", trunk_ids=["ST_t"])),
            "invalid_argument",
            f'Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists in dispatch rule "{first.sip_dispatch_rule_id}" "first"',
            400,
        )
        # A different PIN is a different key.
        await lk.sip.create_dispatch_rule(direct("b", pin="1234", trunk_ids=["ST_t"]))
        await expect_error(
            lk.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=sip.SIPDispatchRuleInfo(name="x"))),
            "invalid_argument", "missing rule", 400,
        )
        await expect_error(
            lk.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=sip.SIPDispatchRuleInfo(rule=sip.SIPDispatchRule()))),
            "invalid_argument", "unsupported SIP Dispatch Rule: <nil>", 400,
        )
        await expect_error(
            lk.sip.update_dispatch_rule_fields("SDR_missing", name="x"), "not_found", "requested sip dispatch rule does not exist", 404
        )
        assert len((await lk.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())).items) == 2

    serve(scenario)


def test_legacy_create_fields_form_the_rule(serve):
    async def scenario(cp, lk):
        rule = sip.SIPDispatchRule(dispatch_rule_callee=sip.SIPDispatchRuleCallee(room_prefix="c"))
        r = await lk.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(rule=rule, trunk_ids=["ST_x"], name="legacy"))
        assert (r.rule, list(r.trunk_ids), r.name) == (rule, ["ST_x"], "legacy")

    serve(scenario)


def test_rule_list_filter_includes_wildcards(serve):
    async def scenario(cp, lk):
        wild = await lk.sip.create_dispatch_rule(direct("w"))
        on_a = await lk.sip.create_dispatch_rule(direct("a", trunk_ids=["ST_a"]))
        await lk.sip.create_dispatch_rule(direct("b", trunk_ids=["ST_b"]))
        got = await lk.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest(trunk_ids=["ST_a"]))
        assert [r.sip_dispatch_rule_id for r in got.items] == sorted([wild.sip_dispatch_rule_id, on_a.sip_dispatch_rule_id])
        got = await lk.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest(dispatch_rule_ids=[on_a.sip_dispatch_rule_id]))
        assert [r.sip_dispatch_rule_id for r in got.items] == [on_a.sip_dispatch_rule_id]

    serve(scenario)


def test_create_sip_participant_without_backend_is_unavailable(serve):
    async def scenario(cp, lk):
        t = await lk.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(trunk=sip.SIPOutboundTrunkInfo(address="127.0.0.1", numbers=["+1"])))
        req = sip.CreateSIPParticipantRequest(sip_trunk_id=t.sip_trunk_id, sip_call_to="+1555", room_name="r")
        await expect_error(
            lk.sip.create_sip_participant(req), "unavailable",
            "no SIP bridge is attached to this control plane, so it cannot place or transfer calls", 503,
        )
        await expect_error(
            lk.sip.create_sip_participant(sip.CreateSIPParticipantRequest(sip_call_to="+1", room_name="r")),
            "invalid_argument", "missing sip trunk id and sip number", 400,
        )
        await expect_error(
            lk.sip.create_sip_participant(sip.CreateSIPParticipantRequest(sip_trunk_id="ST_nope", sip_call_to="+1", room_name="r")),
            "not_found", "requested sip trunk does not exist", 404,
        )

    serve(scenario)


class FakeBridge:
    """A CallBackend double: records requests, fails with a SIP status on demand."""

    def __init__(self, fail=None):
        self.fail = fail
        self.calls = []

    async def create_sip_participant(self, req):
        self.calls.append(req)
        if self.fail:
            raise self.fail
        return sip.SIPParticipantInfo(participant_id="PA_x", participant_identity="sip_" + req.sip_call_to, room_name=req.room_name, sip_call_id="SCL_x")

    async def transfer_sip_participant(self, req):
        self.calls.append(req)


def test_backend_errors_reach_the_client_as_sip_call_error(serve):
    from sipconf.routing.errors import LiveKitError

    bridge = FakeBridge(LiveKitError("resource_exhausted", "sip status 486: Busy Here", {"sip_status_code": "486", "sip_status": "Busy Here"}))

    async def scenario(cp, lk):
        t = await lk.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(trunk=sip.SIPOutboundTrunkInfo(address="127.0.0.1", numbers=["+1"])))
        err = await expect_error(
            lk.sip.create_sip_participant(sip.CreateSIPParticipantRequest(sip_trunk_id=t.sip_trunk_id, sip_call_to="+2", room_name="r")),
            "resource_exhausted", "sip status 486: Busy Here", 429,
        )
        assert isinstance(err, api.SipCallError) and err.sip_status_code == 486 and err.sip_status == "Busy Here"
        bridge.fail = None
        info = await lk.sip.create_sip_participant(sip.CreateSIPParticipantRequest(sip_trunk_id=t.sip_trunk_id, sip_call_to="+2", room_name="r"))
        assert info.participant_identity == "sip_+2" and len(bridge.calls) == 2

    serve(scenario, backend=bridge)


def test_transfer_checks_participant_then_calls_backend(serve):
    bridge = FakeBridge()

    async def scenario(cp, lk):
        cp.rooms.add_participant("r", "plain")
        cp.rooms.add_participant("r", "caller", attributes={"sip.callID": "SCL_abc"})
        req = sip.TransferSIPParticipantRequest(room_name="r", participant_identity="plain", transfer_to="tel:+1555")
        await expect_error(lk.sip.transfer_sip_participant(req), "invalid_argument", "no SIP session associated with participant", 400)
        await expect_error(
            lk.sip.transfer_sip_participant(sip.TransferSIPParticipantRequest(room_name="r", participant_identity="ghost", transfer_to="tel:+1")),
            "not_found", "participant does not exist", 404,
        )
        await expect_error(
            lk.sip.transfer_sip_participant(sip.TransferSIPParticipantRequest(participant_identity="x", transfer_to="tel:+1")),
            "invalid_argument", "Missing room name", 400,
        )
        req.participant_identity = "caller"
        resp = await lk.sip.transfer_sip_participant(req)
        assert resp.status == sip.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL and resp.transfer_id.startswith("STR_")
        assert bridge.calls == [req]

    serve(scenario, backend=bridge)
