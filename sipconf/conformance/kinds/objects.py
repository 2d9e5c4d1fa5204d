"""Vector kinds for object validation, updates, list filters, legacy conversion and the
internal outbound request (docs/livekit.md#test-vectors). Each check returns mismatch lines."""

from __future__ import annotations

from typing import Any

from livekit.protocol import sip

from sipconf.conformance.compare import compare, from_json, show, to_json
from sipconf.validation import filters, legacy, transfer, updates
from sipconf.outbound import participant
from sipconf.validation.destination import validate_destination
from sipconf.routing.errors import LiveKitError
from sipconf.validation.headers import validate_headers
from sipconf.validation.validate import SUPPORTED_TYPES, validate

_BY_NAME = {cls.__name__: cls for cls in SUPPORTED_TYPES}


def _object_type(name: str) -> type:
    cls = _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"unknown object_type {name!r}")
    return cls


def check_validate_object(v: dict[str, Any]) -> list[str]:
    msg = from_json(_object_type(v["object_type"]), v.get("object"))
    result = validate(msg)
    actual = {"valid": result.ok, "soft_errors": bool(result.soft)}
    return compare(v["expect"], actual)


def check_validate_headers(v: dict[str, Any]) -> list[str]:
    result = validate_headers(v["input"].get("headers") or {})
    actual = {"valid": result.ok, "soft_error_count": len(result.soft)}
    return compare(v["expect"], actual)


def check_validate_destination(v: dict[str, Any]) -> list[str]:
    data = v["input"].get("destination")
    problem = validate_destination(None if data is None else from_json(sip.Destination, data))

    def contains(want: str, actual: dict[str, Any]) -> str | None:
        return None if problem is not None and want in problem else f"error: expected to contain {want!r}, got {problem!r}"

    return compare(v["expect"], {"valid": problem is None}, special={"error_contains": contains})


def check_validate_transfer_request(v: dict[str, Any]) -> list[str]:
    req = from_json(sip.TransferSIPParticipantRequest, v["request"])
    transfer_to, result = transfer.validate_transfer_request(req)
    return compare(v["expect"], {"valid": result.ok, "transfer_to": transfer_to if result.ok else None})


def _update_check(info_cls: type, request_cls: type, apply):
    def check(v: dict[str, Any]) -> list[str]:
        current = from_json(info_cls, v["input"]["current"])
        action = from_json(request_cls, v["input"]["action"])
        try:
            result, error = apply(current, action), None
        except LiveKitError as exc:
            result, error = None, exc.message

        def same_message(want: Any, actual: dict[str, Any]) -> str | None:
            expected = None if want is None else from_json(info_cls, want)
            if expected != result:
                return f"result: expected {show(want)}, got {show(to_json(result))}"
            return None

        return compare(v["expect"], {"error": error}, special={"result": same_message})

    return check


_LIST_FILTERS = {
    "ListSIPInboundTrunkRequest": (sip.ListSIPInboundTrunkRequest, sip.SIPInboundTrunkInfo, filters.filter_inbound_trunks),
    "ListSIPOutboundTrunkRequest": (
        sip.ListSIPOutboundTrunkRequest,
        sip.SIPOutboundTrunkInfo,
        filters.filter_outbound_trunks,
    ),
    "ListSIPDispatchRuleRequest": (sip.ListSIPDispatchRuleRequest, sip.SIPDispatchRuleInfo, filters.filter_dispatch_rules),
}


def check_list_filter(v: dict[str, Any]) -> list[str]:
    request_cls, item_cls, run = _LIST_FILTERS[v["object_type"]]
    items = [from_json(item_cls, item) for item in v.get("items") or []]
    out = run(items, from_json(request_cls, v.get("request")), slots=True)
    id_field = "sip_dispatch_rule_id" if item_cls is sip.SIPDispatchRuleInfo else "sip_trunk_id"
    ids = [None if item is None else getattr(item, id_field) for item in out]
    return compare(v["expect"], {"ids": ids})


def check_legacy_trunk_conversion(v: dict[str, Any]) -> list[str]:
    direction = v["input"]["direction"]
    if direction == "inbound":
        trunk = from_json(sip.SIPInboundTrunkInfo, v["input"]["trunk"])
        converted, back = legacy.inbound_to_legacy(trunk), legacy.legacy_to_inbound
    elif direction == "outbound":
        trunk = from_json(sip.SIPOutboundTrunkInfo, v["input"]["trunk"])
        converted, back = legacy.outbound_to_legacy(trunk), legacy.legacy_to_outbound
    else:
        raise ValueError(f"unknown direction {direction!r}")

    def same_legacy(want: Any, actual: dict[str, Any]) -> str | None:
        if from_json(sip.SIPTrunkInfo, want) != converted:
            return f"legacy: expected {show(want)}, got {show(to_json(converted))}"
        return None

    actual = {"roundtrip_equal": back(converted) == trunk}
    return compare(v["expect"], actual, special={"legacy": same_legacy})


def check_new_create_sip_participant_request(v: dict[str, Any]) -> list[str]:
    data = v["input"]
    req = from_json(sip.CreateSIPParticipantRequest, data.get("request"))
    trunk = None if data.get("trunk") is None else from_json(sip.SIPOutboundTrunkInfo, data["trunk"])
    try:
        internal = participant.new_create_sip_participant_request(
            data.get("project_id", ""),
            data.get("call_id", ""),
            data.get("from_hostname", ""),
            data.get("ws_url", ""),
            data.get("token", ""),
            req,
            trunk,
        )
        got, error = internal.to_json(), None
    except LiveKitError as exc:
        got, error = None, exc.message
    exact = bool(v["expect"].get("exact"))

    def internal_request(want: Any, actual: dict[str, Any]) -> str | None:
        if want is None or got is None:
            return None if want == got else f"internal_request: expected {show(want)}, got {show(got)}"
        if exact:
            return None if got == want else f"internal_request: expected exactly {show(want)}, got {show(got)}"
        wrong = {k: got.get(k) for k, w in want.items() if got.get(k) != w}
        return f"internal_request: expected {show(want)}, differing {show(wrong)}" if wrong else None

    return compare(v["expect"], {"error": error}, special={"internal_request": internal_request})


KINDS = {
    "validate_object": check_validate_object,
    "validate_headers": check_validate_headers,
    "validate_destination": check_validate_destination,
    "validate_transfer_request": check_validate_transfer_request,
    "apply_inbound_trunk_update": _update_check(
        sip.SIPInboundTrunkInfo, sip.UpdateSIPInboundTrunkRequest, updates.apply_inbound_trunk_update
    ),
    "apply_outbound_trunk_update": _update_check(
        sip.SIPOutboundTrunkInfo, sip.UpdateSIPOutboundTrunkRequest, updates.apply_outbound_trunk_update
    ),
    "apply_dispatch_rule_update": _update_check(
        sip.SIPDispatchRuleInfo, sip.UpdateSIPDispatchRuleRequest, updates.apply_dispatch_rule_update
    ),
    "list_filter": check_list_filter,
    "legacy_trunk_conversion": check_legacy_trunk_conversion,
    "new_create_sip_participant_request": check_new_create_sip_participant_request,
}
