"""`sipconf status` rows from a live state: the owner of each object, names through the
ledger, number lists cut in text and whole in JSON. (The command itself runs against
`sipconf up` in tests/cli/test_status.py.)"""

from __future__ import annotations

import json

from livekit.protocol import sip

from sipconf.livekit.ledger import Entry, Ledger, ledger_trunk
from sipconf.livekit.live import LiveState
from sipconf.plan.render.status import render_status_json, render_status_text
from sipconf.plan.status import MANAGED, OTHER_PROJECT, UNMANAGED, live_status

NUMBERS = ["+15550001", "+15550003", "+15550005", "+15550007", "+15550009"]


def _state() -> LiveState:
    mine = sip.SIPInboundTrunkInfo(sip_trunk_id="ST_mine", name="renamed-by-hand", numbers=NUMBERS)
    theirs = sip.SIPInboundTrunkInfo(sip_trunk_id="ST_theirs", name="lab", numbers=["+16465550100"])
    unset = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id="SDR_unset", name="broken", trunk_ids=["ST_mine", "ST_gone"])
    ledgers = (
        ledger_trunk(Ledger("acme", (Entry("inbound_trunk", "carrier", "ST_mine", "0" * 16),))),
        ledger_trunk(Ledger("beta", (Entry("inbound_trunk", "lab", "ST_theirs", "0" * 16),))),
    )
    ledgers[0].sip_trunk_id, ledgers[1].sip_trunk_id = "ST_l1", "ST_l2"
    return LiveState(inbound=(mine, theirs), outbound=ledgers, rules=(unset,))


def test_owners_and_the_spec_name_of_a_managed_object():
    status = live_status(_state(), "acme", "http://127.0.0.1:1")
    rows = {r.id: r for kind in status.tables.values() for r in kind}
    assert (rows["ST_mine"].name, rows["ST_mine"].owner, rows["ST_mine"].project) == ("carrier", MANAGED, "acme")
    assert (rows["ST_theirs"].owner, rows["ST_theirs"].project) == (OTHER_PROJECT, "beta")
    assert (rows["SDR_unset"].owner, rows["SDR_unset"].project) == (UNMANAGED, None)
    # Trunks by name where the target has them, by id where it does not; an unset rule kind says so.
    assert rows["SDR_unset"].fields["trunks"] == ["carrier", "ST_gone"]
    assert (rows["SDR_unset"].fields["kind"], rows["SDR_unset"].fields["pin"]) == ("unset", False)
    assert status.ledgers == {"acme": ("ST_l1",), "beta": ("ST_l2",)}


def test_text_cuts_long_number_lists_and_json_keeps_them():
    status = live_status(_state(), "acme", "http://127.0.0.1:1")
    text = render_status_text(status)
    assert "+15550001, +15550003, +15550005, +2 more" in text
    [carrier] = [r for r in json.loads(render_status_json(status))["inbound_trunks"] if r["id"] == "ST_mine"]
    assert carrier["numbers"] == NUMBERS
