"""Trunk CRUD through the real livekit-api client over HTTP, with LiveKit's exact errors."""

from __future__ import annotations

import re

import pytest
from livekit import api
from livekit.protocol import models, sip

ID = re.compile(r"^ST_[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]{12}$")


def inbound(**fields) -> sip.CreateSIPInboundTrunkRequest:
    return sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(**fields))


def outbound(**fields) -> sip.CreateSIPOutboundTrunkRequest:
    return sip.CreateSIPOutboundTrunkRequest(trunk=sip.SIPOutboundTrunkInfo(**fields))


async def expect_error(coro, code: str, message: str, status: int) -> api.TwirpError:
    with pytest.raises(api.TwirpError) as info:
        await coro
    err = info.value
    assert (err.code, err.message, err.status) == (code, message, status)
    return err


def test_create_list_delete_inbound(serve):
    async def scenario(cp, lk):
        created = await lk.sip.create_inbound_trunk(inbound(name="main", numbers=["+15550100"], auth_username="u", auth_password="p"))
        assert ID.match(created.sip_trunk_id)
        assert created.name == "main" and list(created.numbers) == ["+15550100"]
        listed = await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
        assert [t.sip_trunk_id for t in listed.items] == [created.sip_trunk_id]
        assert listed.items[0] == created
        deleted = await lk.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id=created.sip_trunk_id))
        assert deleted == sip.SIPTrunkInfo(sip_trunk_id=created.sip_trunk_id)
        assert not (await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items

    serve(scenario)


def test_inbound_security_rule_is_livekits_message(serve):
    async def scenario(cp, lk):
        await expect_error(
            lk.sip.create_inbound_trunk(inbound(name="open")),
            "invalid_argument",
            "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers",
            400,
        )
        await expect_error(lk.sip.create_inbound_trunk(inbound(sip_trunk_id="ST_x", numbers=["1"])), "invalid_argument", "trunk id must not be set", 400)
        assert not (await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items

    serve(scenario)


def test_conflicting_inbound_trunks(serve):
    async def scenario(cp, lk):
        first = await lk.sip.create_inbound_trunk(inbound(numbers=["+1 555 0100"]))
        await expect_error(
            lk.sip.create_inbound_trunk(inbound(numbers=["15550100"])),
            "invalid_argument",
            f'Conflicting inbound SIP Trunks: "<new>" and "{first.sip_trunk_id}", using the same number(s) ["15550100"] without AllowedNumbers set',
            400,
        )
        # Different allowed callers on the same number do not conflict.
        await lk.sip.create_inbound_trunk(inbound(numbers=["+15550100"], allowed_numbers=["+1777"]))
        listed = await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
        assert len(listed.items) == 2

    serve(scenario)


def test_conflict_names_the_allowed_number(serve):
    async def scenario(cp, lk):
        first = await lk.sip.create_inbound_trunk(inbound(numbers=["+15550100"], allowed_numbers=["+1777"]))
        await expect_error(
            lk.sip.create_inbound_trunk(inbound(numbers=["+15550100"], allowed_numbers=["1777"])),
            "invalid_argument",
            f'Conflicting inbound SIP Trunks: "<new>" and "{first.sip_trunk_id}", using the same number(s) ["+15550100"] and AllowedNumber "1777"',
            400,
        )

    serve(scenario)


def test_update_inbound_partial_and_replace(serve):
    async def scenario(cp, lk):
        t = await lk.sip.create_inbound_trunk(inbound(name="a", numbers=["+1", "+2"], metadata="m"))
        updated = await lk.sip.update_inbound_trunk_fields(
            t.sip_trunk_id, numbers=models.ListUpdate(add=["+3"], remove=["+1"]), name="b"
        )
        assert list(updated.numbers) == ["+2", "+3"] and updated.name == "b" and updated.metadata == "m"
        assert updated.HasField("media")  # Upgrade() on update
        replaced = await lk.sip.update_inbound_trunk(t.sip_trunk_id, sip.SIPInboundTrunkInfo(name="c", allowed_addresses=["127.0.0.1"]))
        assert replaced == sip.SIPInboundTrunkInfo(sip_trunk_id=t.sip_trunk_id, name="c", allowed_addresses=["127.0.0.1"])
        listed = await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
        assert list(listed.items) == [replaced]

    serve(scenario)


def test_update_errors(serve):
    async def scenario(cp, lk):
        t = await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
        # The client sends `numbers=[]` as a present but empty ListUpdate
        # (docs/livekit.md#api-client).
        await expect_error(lk.sip.update_inbound_trunk_fields(t.sip_trunk_id, numbers=[]), "invalid_argument", "unsupported list update operation", 400)
        await expect_error(lk.sip.update_inbound_trunk_fields("ST_missing", name="x"), "not_found", "requested sip trunk does not exist", 404)
        await expect_error(
            lk.sip.update_inbound_trunk(t.sip_trunk_id, sip.SIPInboundTrunkInfo(sip_trunk_id="ST_other", numbers=["+1"])),
            "invalid_argument",
            "trunk id in the info must be empty or match the id in the update",
            400,
        )
        # Replacing with an object that fails validation (docs/livekit.md#validate-objects) leaves
        # the stored trunk alone.
        await expect_error(
            lk.sip.update_inbound_trunk(t.sip_trunk_id, sip.SIPInboundTrunkInfo(name="open")),
            "invalid_argument",
            "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers",
            400,
        )
        assert list((await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items) == [t]

    serve(scenario)


def test_update_into_conflict_is_refused(serve):
    async def scenario(cp, lk):
        a = await lk.sip.create_inbound_trunk(inbound(numbers=["+1"]))
        b = await lk.sip.create_inbound_trunk(inbound(numbers=["+2"]))
        first, second = sorted([a, b], key=lambda t: t.sip_trunk_id)
        await expect_error(
            lk.sip.update_inbound_trunk_fields(second.sip_trunk_id, numbers=list(first.numbers)),
            "invalid_argument",
            f'Conflicting inbound SIP Trunks: "{second.sip_trunk_id}" and "{first.sip_trunk_id}", using the same number(s) ["{first.numbers[0]}"] without AllowedNumbers set',
            400,
        )

    serve(scenario)


def test_outbound_create_update_validation(serve):
    async def scenario(cp, lk):
        await expect_error(lk.sip.create_outbound_trunk(outbound(address="127.0.0.1")), "invalid_argument", "no trunk numbers specified", 400)
        await expect_error(lk.sip.create_outbound_trunk(outbound(numbers=["+1"])), "invalid_argument", "no outbound address specified", 400)
        t = await lk.sip.create_outbound_trunk(outbound(name="o", address="127.0.0.1:5060", numbers=["+1"]))
        assert ID.match(t.sip_trunk_id)
        # Outbound trunks are never conflict-checked.
        await lk.sip.create_outbound_trunk(outbound(address="127.0.0.1", numbers=["+1"]))
        u = await lk.sip.update_outbound_trunk_fields(t.sip_trunk_id, transport=sip.SIP_TRANSPORT_TCP, metadata="x")
        assert (u.address, u.transport, u.metadata) == ("127.0.0.1:5060", sip.SIP_TRANSPORT_TCP, "x")
        r = await lk.sip.update_outbound_trunk(t.sip_trunk_id, sip.SIPOutboundTrunkInfo(address="127.0.0.2", numbers=["+9"]))
        assert r == sip.SIPOutboundTrunkInfo(sip_trunk_id=t.sip_trunk_id, address="127.0.0.2", numbers=["+9"])
        await expect_error(lk.sip.update_outbound_trunk_fields("ST_nope", name="x"), "not_found", "requested sip trunk does not exist", 404)

    serve(scenario)


def test_list_filters(serve):
    async def scenario(cp, lk):
        specific = await lk.sip.create_inbound_trunk(inbound(numbers=["+1 (555) 0100"]))
        wildcard = await lk.sip.create_inbound_trunk(inbound(auth_username="u", auth_password="p"))
        other = await lk.sip.create_inbound_trunk(inbound(numbers=["+1999"]))
        by_number = await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest(numbers=["+15550100"]))
        assert [t.sip_trunk_id for t in by_number.items] == sorted([specific.sip_trunk_id, wildcard.sip_trunk_id])
        by_id = await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest(trunk_ids=[other.sip_trunk_id, "ST_missing"]))
        assert [t.sip_trunk_id for t in by_id.items] == [other.sip_trunk_id]
        ids = sorted(t.sip_trunk_id for t in (specific, wildcard, other))
        # after_id keeps larger ids; limit is a store page size, never a cap
        # (docs/livekit.md#api-server).
        paged = await lk.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest(page=models.Pagination(after_id=ids[0], limit=1)))
        assert [t.sip_trunk_id for t in paged.items] == ids[1:]
        out = await lk.sip.create_outbound_trunk(outbound(address="127.0.0.1", numbers=["+1 555"]))
        assert not (await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest(numbers=["+1555"]))).items  # raw only
        assert [t.sip_trunk_id for t in (await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest(numbers=["+1 555"]))).items] == [out.sip_trunk_id]

    serve(scenario)


def test_legacy_list_and_get(serve):
    async def scenario(cp, lk):
        i = await lk.sip.create_inbound_trunk(inbound(name="in", numbers=["+1", "+2"], allowed_numbers=["+3"]))
        o = await lk.sip.create_outbound_trunk(outbound(name="out", address="127.0.0.1", numbers=["+4"], transport=sip.SIP_TRANSPORT_UDP))
        listed = await lk.sip._client.request("SIP", "ListSIPTrunk", sip.ListSIPTrunkRequest(), lk.sip._admin_headers(), sip.ListSIPTrunkResponse)
        by_id = {t.sip_trunk_id: t for t in listed.items}
        assert [t.sip_trunk_id for t in listed.items] == sorted(by_id)
        assert by_id[i.sip_trunk_id] == sip.SIPTrunkInfo(
            sip_trunk_id=i.sip_trunk_id, kind=sip.SIPTrunkInfo.TRUNK_INBOUND, name="in", outbound_number="+1", inbound_numbers=["+3"]
        )
        assert by_id[o.sip_trunk_id].kind == sip.SIPTrunkInfo.TRUNK_OUTBOUND
        got = await lk.sip._client.request(
            "SIP", "GetSIPOutboundTrunk", sip.GetSIPOutboundTrunkRequest(sip_trunk_id=o.sip_trunk_id), lk.sip._admin_headers(), sip.GetSIPOutboundTrunkResponse
        )
        assert got.trunk == o
        await expect_error(
            lk.sip._client.request("SIP", "GetSIPInboundTrunk", sip.GetSIPInboundTrunkRequest(), lk.sip._admin_headers(), sip.GetSIPInboundTrunkResponse),
            "invalid_argument", "trunk ID is required", 400,
        )
        await expect_error(
            lk.sip._client.request("SIP", "GetSIPInboundTrunk", sip.GetSIPInboundTrunkRequest(sip_trunk_id=o.sip_trunk_id), lk.sip._admin_headers(), sip.GetSIPInboundTrunkResponse),
            "not_found", "requested sip trunk does not exist", 404,
        )

    serve(scenario)


def test_delete_trunk_semantics(serve):
    async def scenario(cp, lk):
        # OSS DeleteSIPTrunk never checks existence (docs/livekit.md#api-server).
        assert await lk.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id="ST_unknown")) == sip.SIPTrunkInfo(sip_trunk_id="ST_unknown")
        await expect_error(lk.sip.delete_trunk(sip.DeleteSIPTrunkRequest()), "invalid_argument", "trunk ID is required", 400)

    serve(scenario)
