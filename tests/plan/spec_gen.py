"""Specs of any size for plan tests, and a live project that already matches one.

`spec_document(trunks)`: N inbound trunks of 10 numbers each, each with an address allowlist
(a loopback /24 of its own) and a header mapping, and two dispatch rules per trunk (an
individual rule on the first five numbers, a callee rule on the last five). Numbers are
distinct E.164 numbers, consecutive across trunks.

`desired_of(doc)` normalises the document with the spec's own models and normaliser, without
YAML: positions make no difference to a plan's size, and parsing 10,000 numbers of YAML is
the compiler's benchmark, not the plan's. `matching_inventory(desired)` is that state as
LiveKit would hold it after an apply: ids assigned, every object owned.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML

from sipconf.livekit.ledger import Entry, Ledger, ledger_trunk
from sipconf.livekit.live import LiveState
from sipconf.livekit.wire import to_live
from sipconf.model import DesiredState
from sipconf.model.kinds import ID_FIELD, INBOUND, OUTBOUND, RULE
from sipconf.plan.diff import desired_message
from sipconf.plan.inventory import Inventory, classify
from sipconf.spec.models import Spec
from sipconf.spec.normalise import Normaliser
from sipconf.spec.yamlsrc import Positions

NUMBERS_PER_TRUNK = 10
FIRST_NUMBER = 15_100_000_000  # +1 510 000 0000
SOURCE = "generated.yaml"


def number(index: int) -> str:
    return f"+{FIRST_NUMBER + index}"


def trunk_numbers(trunk: int) -> list[str]:
    return [number(trunk * NUMBERS_PER_TRUNK + i) for i in range(NUMBERS_PER_TRUNK)]


def spec_document(trunks: int, *, project: str = "bench") -> dict[str, Any]:
    half = NUMBERS_PER_TRUNK // 2
    doc: dict[str, Any] = {"version": 1, "project": project, "trunks": {}, "dispatch_rules": {}}
    for t in range(trunks):
        own = trunk_numbers(t)
        doc["trunks"][f"t{t}"] = {
            "inbound": {
                "numbers": own,
                "allowed_addresses": [f"127.{(t >> 8) & 255}.{t & 255}.0/24"],
                "headers_to_attributes": {"X-Customer-Tier": "customer.tier"},
            }
        }
        doc["dispatch_rules"][f"t{t}-caller"] = {
            "trunks": [f"t{t}"], "numbers": own[:half], "individual": {"room_prefix": f"caller-{t}"},
        }
        doc["dispatch_rules"][f"t{t}-line"] = {
            "trunks": [f"t{t}"], "numbers": own[half:], "callee": {"room_prefix": f"line-{t}"},
        }
    return doc


def spec_text(doc: dict[str, Any]) -> str:
    """The document as spec YAML (for the few tests that go through `sipconf plan`)."""
    import io

    out = io.StringIO()
    YAML().dump(doc, out)
    return out.getvalue()


def desired_of(doc: dict[str, Any], source: str = SOURCE) -> DesiredState:
    spec = Spec.model_validate(doc, context={"allow_literal_secrets": True})
    normaliser = Normaliser(spec, Positions(source), source=source)
    state = normaliser.state(environment=None, url=None)
    assert normaliser.issues == [], normaliser.issues
    return state


def matching_inventory(desired: DesiredState) -> Inventory:
    """`desired` as LiveKit holds it after an apply: live ids, rules naming trunk ids, all owned."""
    trunk_ids = {obj.name: f"ST_{obj.name}" for obj in desired.inbound}
    live: dict[str, list] = {INBOUND: [], OUTBOUND: [], RULE: []}
    owned = []
    for obj in desired.objects():
        msg = to_live(obj.kind, obj.name, desired_message(obj, {}), trunk_ids)
        live_id = ("SDR_" if obj.kind == RULE else "ST_") + obj.name
        setattr(msg, ID_FIELD[obj.kind], live_id)
        live[obj.kind].append(msg)
        owned.append(Entry(obj.kind, obj.name, live_id))
    ledger = ledger_trunk(Ledger(desired.project, tuple(sorted(owned))))
    ledger.sip_trunk_id = "ST_ledger"
    return classify(LiveState(tuple(live[INBOUND]), tuple(live[OUTBOUND]) + (ledger,), tuple(live[RULE])), desired.project)
