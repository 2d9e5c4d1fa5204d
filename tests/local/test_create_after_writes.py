"""Creates are checked against what is stored now, whatever was written since the last create:
a delete, an update, or another process sharing the state file (sipconf.local.conflicts keeps
an index between creates). Through the real livekit-api client over HTTP."""

from __future__ import annotations

from livekit.protocol import sip

from sipconf.local.store import INBOUND, RULE, StateStore
from tests.local.test_sip_trunks import expect_error, inbound


def trunk_conflict(number: str, owner: str) -> str:
    return (
        f'Conflicting inbound SIP Trunks: "<new>" and "{owner}", using the same number(s) ["{number}"]'
        " without AllowedNumbers set"
    )


def rule_conflict(owner_id: str, owner_name: str) -> str:
    return (
        "Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists "
        f'in dispatch rule "{owner_id}" "{owner_name}"'
    )


def direct(name: str, number: str) -> sip.CreateSIPDispatchRuleRequest:
    return sip.CreateSIPDispatchRuleRequest(
        dispatch_rule=sip.SIPDispatchRuleInfo(
            name=name, numbers=[number], rule=sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name=name))
        )
    )


def test_a_deleted_or_updated_trunk_no_longer_holds_its_number(serve):
    async def scenario(cp, lk):
        first = await lk.sip.create_inbound_trunk(inbound(numbers=["+15105550100"]))
        second = await lk.sip.create_inbound_trunk(inbound(numbers=["+15105550101"]))
        await expect_error(
            lk.sip.create_inbound_trunk(inbound(numbers=["15105550101"])), "invalid_argument",
            trunk_conflict("15105550101", second.sip_trunk_id), 400,
        )
        await lk.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id=first.sip_trunk_id))
        await lk.sip.create_inbound_trunk(inbound(numbers=["+15105550100"]))  # the number is free again
        await lk.sip.update_inbound_trunk(second.sip_trunk_id, sip.SIPInboundTrunkInfo(numbers=["+15105550199"]))
        await lk.sip.create_inbound_trunk(inbound(numbers=["+15105550101"]))
        await expect_error(
            lk.sip.create_inbound_trunk(inbound(numbers=["+15105550199"])), "invalid_argument",
            trunk_conflict("+15105550199", second.sip_trunk_id), 400,
        )

    serve(scenario)


def test_objects_another_process_stored_are_seen_by_the_next_create(serve, state_path):
    async def scenario(cp, lk):
        await lk.sip.create_inbound_trunk(inbound(numbers=["+15105550100"]))
        await lk.sip.create_dispatch_rule(direct("first", "+15105550100"))
        other = StateStore(state_path)  # a second connection to the file, as another process has
        try:
            with other.write() as tx:
                tx.put(INBOUND, sip.SIPInboundTrunkInfo(sip_trunk_id="ST_otherprocess", numbers=["+15105550177"]))
                tx.put(RULE, sip.SIPDispatchRuleInfo(
                    sip_dispatch_rule_id="SDR_otherprocess", name="theirs", numbers=["+15105550177"],
                    rule=sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="theirs")),
                ))
        finally:
            other.close()
        await expect_error(
            lk.sip.create_inbound_trunk(inbound(numbers=["+15105550177"])), "invalid_argument",
            trunk_conflict("+15105550177", "ST_otherprocess"), 400,
        )
        await expect_error(
            lk.sip.create_dispatch_rule(direct("mine", "+15105550177")), "invalid_argument",
            rule_conflict("SDR_otherprocess", "theirs"), 400,
        )

    serve(scenario)
