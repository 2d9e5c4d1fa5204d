"""The three kinds of LiveKit SIP object a spec describes, and the facts every stage needs
about them: their protobuf message, the field that holds their id, and where secrets sit."""

from __future__ import annotations

from typing import Literal

from google.protobuf.message import Message
from livekit.protocol import sip

ObjectKind = Literal["inbound_trunk", "outbound_trunk", "dispatch_rule"]
INBOUND, OUTBOUND, RULE = "inbound_trunk", "outbound_trunk", "dispatch_rule"
KINDS: tuple[ObjectKind, ...] = (INBOUND, OUTBOUND, RULE)

MESSAGE_CLASS = {
    INBOUND: sip.SIPInboundTrunkInfo,
    OUTBOUND: sip.SIPOutboundTrunkInfo,
    RULE: sip.SIPDispatchRuleInfo,
}
# A live object's LiveKit id (ST_..., SDR_...); in the model the same field holds the spec name.
ID_FIELD = {INBOUND: "sip_trunk_id", OUTBOUND: "sip_trunk_id", RULE: "sip_dispatch_rule_id"}

# Passwords and PINs: never printed, only fingerprinted, and never stored in a model message.
SENSITIVE_PATHS = frozenset(
    {
        "auth_password",
        "rule.dispatch_rule_direct.pin",
        "rule.dispatch_rule_individual.pin",
        "rule.dispatch_rule_callee.pin",
    }
)


def object_id(kind: str, msg: Message) -> str:
    """The value of the id field: the LiveKit id of a live object, the spec name of a model one."""
    return getattr(msg, ID_FIELD[kind])
