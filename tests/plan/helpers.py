"""Hand-built desired and live objects for the pure plan tests."""

from __future__ import annotations

from types import MappingProxyType

from livekit.protocol import sip

from sipconf.livekit.ledger import Entry, Ledger, ledger_trunk
from sipconf.livekit.live import LiveState
from sipconf.model import DesiredObject, DesiredState, Origin, SecretRef
from sipconf.plan.inventory import classify

SPEC = "spec.yaml"


def origin(line: int = 1) -> Origin:
    return Origin(SPEC, line, 3)


def inbound(name: str, numbers=("+15105550100",), password: str | None = None, managed=True, line=2) -> DesiredObject:
    msg = sip.SIPInboundTrunkInfo(sip_trunk_id=name, name=name, numbers=list(numbers))
    secrets = {}
    if password is not None:
        msg.auth_username = "acme"
        secrets["auth_password"] = SecretRef(literal=password)
    return DesiredObject("inbound_trunk", name, origin(line), msg, MappingProxyType(secrets), managed=managed)


def rule(name: str, trunks=(), room="support", pin: str | None = None, line=5, managed=True) -> DesiredObject:
    msg = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=name, name=name, trunk_ids=list(trunks))
    msg.rule.dispatch_rule_direct.room_name = room
    secrets = {}
    if pin is not None:
        secrets["rule.dispatch_rule_direct.pin"] = SecretRef(literal=pin)
    return DesiredObject("dispatch_rule", name, origin(line), msg, MappingProxyType(secrets), managed=managed)


def state(*objects: DesiredObject, project="acme") -> DesiredState:
    return DesiredState(
        source=SPEC,
        version=1,
        project=project,
        environment=None,
        url=None,
        inbound=tuple(o for o in objects if o.kind == "inbound_trunk"),
        outbound=tuple(o for o in objects if o.kind == "outbound_trunk"),
        rules=tuple(o for o in objects if o.kind == "dispatch_rule"),
    )


def live_trunk(tid: str, name: str, numbers=("+15105550100",), password="") -> sip.SIPInboundTrunkInfo:
    msg = sip.SIPInboundTrunkInfo(sip_trunk_id=tid, name=name, numbers=list(numbers))
    if password:
        msg.auth_username, msg.auth_password = "acme", password
    return msg


def live_rule(rid: str, name: str, trunk_ids=(), room="support", pin="") -> sip.SIPDispatchRuleInfo:
    msg = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=rid, name=name, trunk_ids=list(trunk_ids))
    msg.rule.dispatch_rule_direct.room_name = room
    msg.rule.dispatch_rule_direct.pin = pin
    msg.media.SetInParent()  # Upgrade() leaves an empty media (docs/livekit.md#api-updates)
    return msg


def inventory(inbound=(), rules=(), owned=(), project="acme", pending=()):
    """`owned` lists (kind, name, id) the ledger holds."""
    ledger = Ledger(project, tuple(sorted(Entry(*o) for o in owned)), tuple(pending))
    trunk = ledger_trunk(ledger)
    trunk.sip_trunk_id = "ST_ledger00000"
    return classify(LiveState(tuple(inbound), (trunk,), tuple(rules)), project)
