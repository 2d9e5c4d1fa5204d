"""LiveKit's own create-time rejections, found before any API call, with LiveKit's exact text.

Every object is validated as the Create request `sipconf apply` would send, and the whole
state goes through LiveKit's conflict validators for inbound trunks and dispatch rules.
The routing engine owns those rules; these checks only ask it and place its answer on the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from google.protobuf.message import Message
from livekit.protocol import sip as sip_pb

from sipconf.checks.base import CheckBase
from sipconf.checks.conflicts import rejected_rules, rejected_trunks
from sipconf.checks.prepared import Prepared
from sipconf.issues import Issue
from sipconf.model import DesiredObject, DesiredState
from sipconf.routing.errors import LiveKitError
from sipconf.validation import headers, hosts
from sipconf.validation.validate import media_problem, validate


def create_request(obj: DesiredObject, msg: Message) -> Message:
    """The Create request for an object. Ids are assigned by LiveKit ("trunk id must not be set"),
    so the spec name standing in for the id is cleared here."""
    body = type(msg)()
    body.CopyFrom(msg)
    if obj.kind == "dispatch_rule":
        body.sip_dispatch_rule_id = ""
        return sip_pb.CreateSIPDispatchRuleRequest(dispatch_rule=body)
    body.sip_trunk_id = ""
    if obj.kind == "inbound_trunk":
        return sip_pb.CreateSIPInboundTrunkRequest(trunk=body)
    # "no trunk numbers specified" is reported by the outbound-trunk-no-numbers check with a
    # hint; a stand-in caller id lets LiveKit's next rejection (address, headers...) surface in
    # the same run instead of one fix at a time.
    if not body.numbers:
        body.numbers.append("+10000000000")
    return sip_pb.CreateSIPOutboundTrunkRequest(trunk=body)


def blamed_field(obj: DesiredObject, msg: Message, error: str) -> str | None:
    """The field a rejection is about: the one whose removal makes LiveKit accept the object.

    Only the fallback for a rejection no field group below explains (LiveKit's text does not
    name a field). A field whose removal merely changes the answer is not blamed: with several
    problems that would point at an innocent field (a trunk's numbers for a bad codec).
    """
    for field, _value in msg.ListFields():
        cleared = type(msg)()
        cleared.CopyFrom(msg)
        cleared.ClearField(field.name)
        if validate(create_request(obj, cleared)).error is None:
            return "media" if field.name == "media_encryption" else field.name
    return None


# -- field groups -------------------------------------------------------------------------
# LiveKit's Validate() stops at the first hard error. These groups are independent (no field is
# in two), so each is validated alone and every group's first error is reported, each with
# LiveKit's text and at the entry it is about. A group returns (LiveKit's text, spec field).

Rejection = tuple[str, str | None]


def _security(obj: DesiredObject, msg: Message) -> Rejection | None:
    only = sip_pb.SIPInboundTrunkInfo(
        auth_username=msg.auth_username, auth_password=msg.auth_password,
        allowed_addresses=msg.allowed_addresses, numbers=msg.numbers,
    )
    error = validate(sip_pb.CreateSIPInboundTrunkRequest(trunk=only)).error
    return (error.message, None) if error else None


def _media(obj: DesiredObject, msg: Message) -> Rejection | None:
    if not msg.HasField("media"):
        return None
    problem = media_problem(msg.media)
    if problem is None:
        return None
    for index, codec in enumerate(msg.media.codecs):
        if media_problem(sip_pb.SIPMediaConfig(codecs=[codec])) == problem:
            return problem, f"media.codecs.{index}"
    return problem, "media.timeout"


def _headers(obj: DesiredObject, msg: Message) -> Rejection | None:
    problem, _soft = headers.check_headers(msg.headers)
    if problem is None:
        return None
    for name, value in msg.headers.items():
        if headers.check_headers({name: value})[0] == problem:
            field = f"key:headers.{name}" if problem.startswith("invalid header name") else f"headers.{name}"
            return problem, field
    return problem, "headers"


def _mapped_names(field: str, of_keys: bool) -> Callable[[DesiredObject, Message], Rejection | None]:
    """Header names in a mapping: keys of `headers_to_attributes`, values of `attributes_to_headers`."""

    def check(obj: DesiredObject, msg: Message) -> Rejection | None:
        for key, value in getattr(msg, field).items():
            problem = headers.check_header_names([key if of_keys else value])
            if problem:
                return problem, f"key:{field}.{key}" if of_keys else f"{field}.{key}"
        return None

    return check


def _host(field: str, label: str) -> Callable[[DesiredObject, Message], Rejection | None]:
    def check(obj: DesiredObject, msg: Message) -> Rejection | None:
        problem = hosts.validate_host(getattr(msg, field), label)
        return (problem, field) if problem else None

    return check


_HEADER_GROUPS = (_headers, _mapped_names("headers_to_attributes", True), _mapped_names("attributes_to_headers", False))
FIELD_GROUPS: dict[str, tuple[Callable[[DesiredObject, Message], Rejection | None], ...]] = {
    "inbound_trunk": (_security, _media, *_HEADER_GROUPS),
    "outbound_trunk": (_host("address", "trunk address"), _host("from_host", "from_host"), *_HEADER_GROUPS, _media),
    "dispatch_rule": (_media,),
}


def rejections(obj: DesiredObject, msg: Message) -> list[Rejection]:
    """Every independent LiveKit rejection of the object's Create request, in LiveKit's order."""
    found = [r for group in FIELD_GROUPS[obj.kind] if (r := group(obj, msg)) is not None]
    error = validate(create_request(obj, msg)).error
    if error is not None and error.message not in {text for text, _ in found}:
        found.insert(0, (error.message, blamed_field(obj, msg, error.message)))
    return found


@dataclass(frozen=True)
class LiveKitRejectsObject(CheckBase):
    """The hard errors LiveKit's Validate() returns for the Create request, one
    per independent field group (LiveKit itself shows only the first)."""

    code: str = "livekit-rejects-object"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared.of(state)
        for obj in state.objects():
            for text, field in rejections(obj, prepared.message(obj)):
                yield self.issue(obj, text, *([field] if field else []))


@dataclass(frozen=True)
class LiveKitWarnsObject(CheckBase):
    """LiveKit's "soft errors": header warnings it logs but accepts (e.g. a `To` header),
    for every header entry (LiveKit's own list stops at the first hard error)."""

    code: str = "livekit-header-warning"
    level: str = "warning"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared.of(state)
        for obj in state.objects():
            msg = prepared.message(obj)
            if obj.kind == "dispatch_rule":
                continue
            for name, value in msg.headers.items():
                for text in headers.check_headers({name: value})[1]:
                    yield self.issue(obj, text, f"key:headers.{name}", "headers")


def first_rejected(items: list, validator: Callable[[list[Message]], object]) -> Iterable[tuple[int, object]]:
    """Every item LiveKit would refuse when the objects are created one by one in spec order.

    LiveKit's validators stop at the first conflict; checking each object against the ones
    accepted before it reports every conflicting object once, each with the exact error LiveKit
    gives when that object is created (the later object is the one refused). This is the literal
    path, quadratic in the number of objects; the checks use the grouped one in checks.conflicts,
    which gives the same answers.
    """
    accepted: list[Message] = []
    for index, msg in enumerate(items):
        error = validator(accepted + [msg])
        if error is None:
            accepted.append(msg)
        else:
            yield index, error


def trunk_rejections(prepared: Prepared) -> list[tuple[int, LiveKitError]]:
    """(index in `prepared.inbound`, LiveKit's error) for each inbound trunk LiveKit refuses."""
    return prepared.memo("trunk_rejections", lambda: list(rejected_trunks([m for _, m in prepared.inbound])))


def rule_rejections(prepared: Prepared) -> list[tuple[int, LiveKitError]]:
    """(index in `prepared.rules`, LiveKit's error) for each dispatch rule LiveKit refuses."""
    return prepared.memo("rule_rejections", lambda: list(rejected_rules([m for _, m in prepared.rules])))


@dataclass(frozen=True)
class LiveKitTrunkConflict(CheckBase):
    """Two inbound trunks own the same (number, allowed number) key."""

    code: str = "livekit-trunk-conflict"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared.of(state)
        pairs = prepared.inbound
        for index, error in trunk_rejections(prepared):
            yield self.issue(pairs[index][0], error.message, "numbers")


@dataclass(frozen=True)
class LiveKitRuleConflict(CheckBase):
    """An unset rule, or two rules with the same (trunk, caller, called, PIN) key."""

    code: str = "livekit-rule-conflict"
    level: str = "error"

    def run(self, state: DesiredState) -> Iterable[Issue]:
        prepared = Prepared.of(state)
        pairs = prepared.rules
        for index, error in rule_rejections(prepared):
            yield self.issue(pairs[index][0], error.message)


def accepted_rules(prepared: Prepared) -> list[tuple[DesiredObject, Message]]:
    """The rules LiveKit would hold after creating them in order (conflicting ones refused).

    Routing-based checks use this list: LiveKit's selection aborts on any conflict in the list,
    so analysing reachability on a conflicting list would only repeat the conflict error.
    """
    refused = {i for i, _ in rule_rejections(prepared)}
    return [p for i, p in enumerate(prepared.rules) if i not in refused]
