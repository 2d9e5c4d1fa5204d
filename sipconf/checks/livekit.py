"""LiveKit's own create-time rejections, found before any API call, with LiveKit's exact text.

Every object is validated as the Create request `sipconf apply` would send (SEMANTICS 4.1), and
the whole state goes through LiveKit's conflict validators for trunks (4.2) and rules (4.3).
The routing engine owns those rules; these checks only ask it and place its answer on the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from google.protobuf.message import Message
from livekit.protocol import sip as pb

from sipconf.checks.base import CheckBase
from sipconf.checks.prepared import Prepared
from sipconf.issues import Issue
from sipconf.model import DesiredObject, DesiredState
from sipconf.routing.rules import validate_rules
from sipconf.routing.trunks import validate_trunks
from sipconf.routing.validate import validate


def create_request(obj: DesiredObject, msg: Message) -> Message:
    """The Create request for an object. Ids are assigned by LiveKit ("trunk id must not be set"),
    so the spec name standing in for the id is cleared here."""
    body = type(msg)()
    body.CopyFrom(msg)
    if obj.kind == "dispatch_rule":
        body.sip_dispatch_rule_id = ""
        return pb.CreateSIPDispatchRuleRequest(dispatch_rule=body)
    body.sip_trunk_id = ""
    if obj.kind == "inbound_trunk":
        return pb.CreateSIPInboundTrunkRequest(trunk=body)
    # "no trunk numbers specified" is reported by the outbound-trunk-no-numbers check with a
    # hint; a stand-in caller id lets LiveKit's next rejection (address, headers...) surface in
    # the same run instead of one fix at a time.
    if not body.numbers:
        body.numbers.append("+10000000000")
    return pb.CreateSIPOutboundTrunkRequest(trunk=body)


def blamed_field(obj: DesiredObject, msg: Message, error: str) -> str | None:
    """The field a rejection is about: the one whose removal changes LiveKit's answer.

    LiveKit's text does not name a field, but a spec user wants the line of the bad header or
    codec, not of the trunk. Clearing one set field at a time and validating again finds it
    (the protobuf field names are the spec's, except `media_encryption`, which is `media`).
    """
    changed: str | None = None
    for field, _value in msg.ListFields():
        cleared = type(msg)()
        cleared.CopyFrom(msg)
        cleared.ClearField(field.name)
        again = validate(create_request(obj, cleared)).error
        name = "media" if field.name == "media_encryption" else field.name
        if again is None:
            return name  # without it the object passes: this field is the problem
        if again.message != error and changed is None:
            changed = name
    return changed


@dataclass(frozen=True)
class LiveKitRejectsObject(CheckBase):
    """SEMANTICS 4.1: the hard error LiveKit's Validate() returns for the Create request."""

    code: str = "livekit-rejects-object"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared(state)
        for obj in state.objects():
            result = validate(create_request(obj, prepared.message(obj)))
            if result.error is not None:
                msg = prepared.message(obj)
                field = blamed_field(obj, msg, result.error.message)
                yield self.issue(obj, result.error.message, *([field] if field else []))


@dataclass(frozen=True)
class LiveKitWarnsObject(CheckBase):
    """SEMANTICS 4.1 "soft errors": header warnings LiveKit logs but accepts (e.g. a `To` header)."""

    code: str = "livekit-header-warning"
    level: str = "warning"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared(state)
        for obj in state.objects():
            for text in validate(create_request(obj, prepared.message(obj))).soft:
                yield self.issue(obj, text, "headers")


def first_rejected(items: list, validator: Callable[[list[Message]], object]) -> Iterable[tuple[int, object]]:
    """Every item LiveKit would refuse when the objects are created one by one in spec order.

    LiveKit's validators stop at the first conflict; checking each object against the ones
    accepted before it reports every conflicting object once, each with the exact error LiveKit
    gives when that object is created (the later object is the one refused).
    """
    accepted: list[Message] = []
    for index, msg in enumerate(items):
        error = validator(accepted + [msg])
        if error is None:
            accepted.append(msg)
        else:
            yield index, error


@dataclass(frozen=True)
class LiveKitTrunkConflict(CheckBase):
    """SEMANTICS 4.2: two inbound trunks own the same (number, allowed number) key."""

    code: str = "livekit-trunk-conflict"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        pairs = Prepared(state).inbound
        for index, error in first_rejected([m for _, m in pairs], validate_trunks):
            yield self.issue(pairs[index][0], error.message, "numbers")


@dataclass(frozen=True)
class LiveKitRuleConflict(CheckBase):
    """SEMANTICS 4.3: an unset rule, or two rules with the same (trunk, caller, called, PIN) key."""

    code: str = "livekit-rule-conflict"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        pairs = Prepared(state).rules
        for index, error in first_rejected([m for _, m in pairs], validate_rules):
            yield self.issue(pairs[index][0], error.message)


def accepted_rules(prepared: Prepared) -> list[tuple[DesiredObject, Message]]:
    """The rules LiveKit would hold after creating them in order (conflicting ones refused).

    Routing-based checks use this list: LiveKit's selection aborts on any conflict in the list,
    so analysing reachability on a conflicting list would only repeat the conflict error.
    """
    pairs = prepared.rules
    refused = {i for i, _ in first_rejected([m for _, m in pairs], validate_rules)}
    return [p for i, p in enumerate(pairs) if i not in refused]
