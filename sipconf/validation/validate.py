"""Create/update-time validation of LiveKit SIP objects (docs/livekit.md#validate-objects,
#validate-media, #list-update, #outbound-validation and #transfer-validation).

`validate(msg)` is what LiveKit's `Validate()` methods do, with their exact messages: the
control plane calls it before storing anything, and the compiler's static checks call it
per object. Checks stop at the first hard error; soft errors (warnings) found before it
are kept. Plain Go errors from these checks reach API clients as `invalid_argument`, so
that is the code every error here carries.
"""

from __future__ import annotations

from typing import Callable

from livekit.protocol import sip

from sipconf.sip.gostr import unquote
from sipconf.validation import destination, headers, hosts, legacy, transfer
from sipconf.validation.result import Validation, verdict

MAX_MEDIA_TIMEOUT_NS = 10 * 60 * 10**9  # 10m0s
MAX_DISPLAY_NAME_LEN = 128


class _Checks:
    """Collects soft errors while the checks run; a hard error is returned, not stored."""

    def __init__(self) -> None:
        self.soft: list[str] = []

    def headers(self, values, restricted: bool = True) -> str | None:
        hard, soft = headers.check_headers(values, restricted=restricted)
        self.soft.extend(soft)
        return hard


# --- media (docs/livekit.md#validate-media) ---------------------------------------------------


def media_problem(media: sip.SIPMediaConfig | None) -> str | None:
    """Why a media config is invalid (docs/livekit.md#validate-media), or None. Absent media is
    fine."""
    if media is None:
        return None
    for codec in media.codecs:
        if codec.name == "":
            return "missing codec name"
        if any(c in codec.name for c in " \t\r\n"):
            return "invalid codec name"
        if "/" in codec.name:
            return "codec name must not contain '/'"
    if media.HasField("media_timeout"):
        d = media.media_timeout
        total = d.seconds * 10**9 + d.nanos
        if total < 0:
            return "media_timeout must not be negative"
        if total > MAX_MEDIA_TIMEOUT_NS:
            return "media_timeout must not exceed 10m0s"
    return None


def _media_of(msg) -> sip.SIPMediaConfig | None:
    return msg.media if msg.HasField("media") else None


# --- list updates (docs/livekit.md#list-update) -----------------------------------------------


def list_update_problem(update) -> str | None:
    """Why a `ListUpdate` is not acceptable (docs/livekit.md#list-update), or None. An absent update
    is fine."""
    if update is None:
        return None
    changes = bool(update.set) or bool(update.add) or bool(update.remove)
    if not changes and not update.clear:
        return "unsupported list update operation"
    if update.clear and changes:
        return "cannot clear and change the list at the same time"
    if update.set and (update.add or update.remove):
        return "cannot set and change the list at the same time"
    for value in (*update.set, *update.add, *update.remove):
        if value == "":
            return "empty element in the list"
    return None


def _list_update_of(msg, field: str):
    return getattr(msg, field) if msg.HasField(field) else None


# --- trunks (docs/livekit.md#validate-objects) ------------------------------------------------


def _header_maps(msg) -> str | None:
    """Header-mapping names: values of `attributes_to_headers`, keys of `headers_to_attributes`."""
    return headers.check_header_names(msg.attributes_to_headers.values()) or headers.check_header_names(
        msg.headers_to_attributes.keys()
    )


def _inbound_trunk(t: sip.SIPInboundTrunkInfo, c: _Checks) -> str | None:
    if not (t.auth_username or t.auth_password or t.allowed_addresses or t.numbers):
        return "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers"
    return media_problem(_media_of(t)) or c.headers(t.headers) or _header_maps(t)


def _outbound_trunk(t: sip.SIPOutboundTrunkInfo, c: _Checks) -> str | None:
    if not t.numbers:
        return "no trunk numbers specified"
    if not t.address:
        return "no outbound address specified"
    return (
        hosts.validate_host(t.address, "trunk address")
        or hosts.validate_host(t.from_host, "from_host")
        or c.headers(t.headers)
        or _header_maps(t)
        or media_problem(_media_of(t))
    )


def _outbound_config(t: sip.SIPOutboundConfig, c: _Checks) -> str | None:
    if not t.hostname:
        return "no outbound hostname specified"
    return (
        hosts.validate_host(t.hostname, "trunk hostname")
        or hosts.validate_host(t.from_host, "from_host")
        or _header_maps(t)
    )


def _media_config(m: sip.SIPMediaConfig, c: _Checks) -> str | None:
    return media_problem(m)


def _create_inbound(req: sip.CreateSIPInboundTrunkRequest, c: _Checks) -> str | None:
    if not req.HasField("trunk"):
        return "missing trunk"
    if req.trunk.sip_trunk_id:
        return "trunk id must not be set"
    return _inbound_trunk(req.trunk, c)


def _create_outbound(req: sip.CreateSIPOutboundTrunkRequest, c: _Checks) -> str | None:
    if not req.HasField("trunk"):
        return "missing trunk"
    if req.trunk.sip_trunk_id:
        return "trunk id must not be set"
    return _outbound_trunk(req.trunk, c)


def inbound_update_problem(u: sip.SIPInboundTrunkUpdate) -> str | None:
    """The update's own checks (docs/livekit.md#list-update, #validate-media); not the resulting
    trunk."""
    for field in ("numbers", "allowed_addresses", "allowed_numbers"):
        problem = list_update_problem(_list_update_of(u, field))
        if problem:
            return problem
    return media_problem(_media_of(u))


def outbound_update_problem(u: sip.SIPOutboundTrunkUpdate) -> str | None:
    return list_update_problem(_list_update_of(u, "numbers")) or media_problem(_media_of(u))


def rule_update_problem(u: sip.SIPDispatchRuleUpdate) -> str | None:
    return list_update_problem(_list_update_of(u, "trunk_ids")) or media_problem(_media_of(u))


def _update_trunk(trunk_check, update_check) -> Callable[[object, _Checks], str | None]:
    def check(req, c: _Checks) -> str | None:
        if not req.sip_trunk_id:
            return "trunk id must be set"
        action = req.WhichOneof("action")
        if action == "replace":
            # Go's "missing trunk" (a nil member of a set oneof) cannot happen in Python.
            if req.replace.sip_trunk_id not in ("", req.sip_trunk_id):
                return "trunk id in the info must be empty or match the id in the update"
            return trunk_check(req.replace, c)
        if action == "update":
            return update_check(req.update)
        return "missing or unsupported update action"

    return check


# --- dispatch rules (docs/livekit.md#validate-objects) ----------------------------------------


def _rule(r: sip.SIPDispatchRuleInfo, c: _Checks) -> str | None:
    # An unset oneof inside a present `rule` passes here; the conflict check
    # (docs/livekit.md#rule-conflicts) refuses it.
    if not r.HasField("rule"):
        return "missing rule"
    return media_problem(_media_of(r))


def _create_rule(req: sip.CreateSIPDispatchRuleRequest, c: _Checks) -> str | None:
    if not req.HasField("dispatch_rule"):
        return _rule(legacy.rule_from_create_request(req), c)
    if req.dispatch_rule.sip_dispatch_rule_id:
        return "rule id must not be set"
    return _rule(req.dispatch_rule, c)


def _update_rule(req: sip.UpdateSIPDispatchRuleRequest, c: _Checks) -> str | None:
    if not req.sip_dispatch_rule_id:
        return "rule id must be set"
    action = req.WhichOneof("action")
    if action == "replace":
        if req.replace.sip_dispatch_rule_id not in ("", req.sip_dispatch_rule_id):
            return "rule id in the info must be empty or match the id in the update"
        return _rule(req.replace, c)
    if action == "update":
        return rule_update_problem(req.update)
    return "missing or unsupported update action"


# --- outbound calls and transfers (docs/livekit.md#outbound-validation, #transfer-validation) ---


def _participant(req: sip.CreateSIPParticipantRequest, c: _Checks) -> str | None:
    if not req.sip_trunk_id and not req.HasField("trunk") and not req.sip_number:
        return "missing sip trunk id and sip number"
    if req.HasField("trunk"):
        problem = _outbound_config(req.trunk, c)
        if problem:
            return problem
    if not req.sip_call_to:
        return "missing sip callee number"
    if "@" in req.sip_call_to:
        return "SipCallTo should be a phone number or SIP user, not a full SIP URI"
    if "@" in req.to_user_override:
        return "ToUserOverride should be a phone number or SIP user, not a full SIP URI"
    bad = headers.check_chars(req.to_user_override, headers.TOKEN_CHARS)
    if bad:
        return f"ToUserOverride contains invalid characters: {bad}"
    if not req.room_name:
        return "missing room name"
    if req.HasField("display_name"):
        if len(req.display_name.encode()) > MAX_DISPLAY_NAME_LEN:
            return "DisplayName too long (max 128 characters)"
        try:
            unquote('"' + req.display_name + '"')
        except ValueError as exc:
            return f"DisplayName must be a valid quoted string: {exc}"
    if req.HasField("destination"):
        problem = destination.validate_destination(req.destination)
        if problem:
            return problem
    # The legacy `media_encryption` is folded into `media` first; only codecs and the
    # timeout are checked, so checking `media` as sent is equivalent.
    return c.headers(req.headers) or media_problem(_media_of(req))


def _transfer(req: sip.TransferSIPParticipantRequest, c: _Checks) -> str | None:
    _, hard, soft = transfer.check_transfer_request(req)
    c.soft.extend(soft)
    return hard


def _legacy_create(req: sip.CreateSIPTrunkRequest, c: _Checks) -> str | None:
    return legacy.legacy_create_problem(req)


_CHECKS: dict[type, Callable] = {
    sip.SIPInboundTrunkInfo: _inbound_trunk,
    sip.SIPOutboundTrunkInfo: _outbound_trunk,
    sip.SIPOutboundConfig: _outbound_config,
    sip.SIPMediaConfig: _media_config,
    sip.SIPDispatchRuleInfo: _rule,
    sip.CreateSIPInboundTrunkRequest: _create_inbound,
    sip.CreateSIPOutboundTrunkRequest: _create_outbound,
    sip.UpdateSIPInboundTrunkRequest: _update_trunk(_inbound_trunk, inbound_update_problem),
    sip.UpdateSIPOutboundTrunkRequest: _update_trunk(_outbound_trunk, outbound_update_problem),
    sip.CreateSIPDispatchRuleRequest: _create_rule,
    sip.UpdateSIPDispatchRuleRequest: _update_rule,
    sip.CreateSIPParticipantRequest: _participant,
    sip.TransferSIPParticipantRequest: _transfer,
    sip.CreateSIPTrunkRequest: _legacy_create,
}

SUPPORTED_TYPES = tuple(_CHECKS)


def validate(msg) -> Validation:
    """Validate any supported `livekit.protocol.sip` message as LiveKit does on create/update."""
    check = _CHECKS.get(type(msg))
    if check is None:
        raise TypeError(f"no LiveKit validation for {type(msg).__name__}")
    checks = _Checks()
    return verdict(check(msg, checks), checks.soft)
