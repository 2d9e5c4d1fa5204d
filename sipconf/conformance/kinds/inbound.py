"""Vector kinds of the inbound routing engine (docs/livekit.md#test-vectors)."""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any, Mapping

from livekit.protocol import sip

from sipconf.conformance.compare import compare, from_json, regex_check, show
from sipconf.routing import evaluate, masks, numbers, rules, trunks
from sipconf.routing.call import CallFacts
from sipconf.routing.errors import LiveKitError

Vector = Mapping[str, Any]


_CONFLICT_PREFIXES = ("Multiple SIP Trunks", "Multiple default SIP Trunks", "Conflicting inbound SIP Trunks",
                      "Dispatch rule for the same trunk")


def error_category(err: LiveKitError | None) -> str | None:
    """The vectors' error categories: `conflict`, `no_rule`, `invalid`, `pin_wrong`
    (docs/livekit.md#test-vectors)."""
    if err is None:
        return None
    if err.message == evaluate.WRONG_PIN:
        return "pin_wrong"
    if err.message in (rules.NO_RULE, evaluate.NO_RULE):
        return "no_rule"
    if err.message.startswith(_CONFLICT_PREFIXES):
        return "conflict"
    return "invalid"


def _error_fields(err: LiveKitError | None) -> dict[str, Any]:
    return {
        "error": error_category(err),
        "error_code": err.code if err else None,
        "error_message": err.message if err else None,
    }


def _call(data: Mapping[str, Any]) -> CallFacts:
    known = {"from", "to", "from_host", "src_ip", "sip_call_id", "pin", "no_pin", "extra_attributes", "sip_trunk_id"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown call keys {sorted(unknown)}")
    return CallFacts(
        from_user=data.get("from", ""),
        to_user=data.get("to", ""),
        from_host=data.get("from_host", ""),
        src_ip=data.get("src_ip", ""),
        sip_call_id=data.get("sip_call_id", ""),
        pin=data.get("pin", ""),
        no_pin=bool(data.get("no_pin", False)),
        extra_attributes=MappingProxyType(dict(data.get("extra_attributes") or {})),
        sip_trunk_id=data.get("sip_trunk_id", ""),
    )


def _trunks(data: list[Mapping[str, Any]] | None) -> list[sip.SIPInboundTrunkInfo]:
    return [from_json(sip.SIPInboundTrunkInfo, t) for t in data or []]


def _rules(data: list[Mapping[str, Any]] | None) -> list[sip.SIPDispatchRuleInfo]:
    return [from_json(sip.SIPDispatchRuleInfo, r) for r in data or []]


def _trunk_or_none(data: Mapping[str, Any] | None) -> sip.SIPInboundTrunkInfo | None:
    return None if data is None else from_json(sip.SIPInboundTrunkInfo, data)


def check_normalize_number(v: Vector) -> list[str]:
    return compare(v["expect"], {"normalized": numbers.normalize_number(v["input"]["number"])})


def check_match_addr_mask(v: Vector) -> list[str]:
    addr, mask = v["input"]["addr"], v["input"]["mask"]
    return compare(v["expect"], {"valid_mask": masks.is_valid_mask(mask), "match": masks.match_addr_mask(addr, mask)})


def check_match_addr_masks(v: Vector) -> list[str]:
    data = v["input"]
    return compare(v["expect"], {"match": masks.match_addr_masks(data["addr"], data["host"], data["masks"])})


def check_match_trunk(v: Vector) -> list[str]:
    decision = trunks.match_trunk(_trunks(v["trunks"]), _call(v["call"]))
    match = decision.value
    actual: dict[str, Any] = {
        "trunk_id": match.trunk.sip_trunk_id if match and match.trunk is not None else None,
        "match_type": match.match_type if match else None,
        "default_trunk_count": match.default_trunk_count if match else None,
        "conflict_reported": decision.error is not None,
        **_error_fields(decision.error),
    }
    return compare(v["expect"], actual)


def _validity(err: LiveKitError | None) -> dict[str, Any]:
    return {"valid": err is None, **_error_fields(err)}


def check_validate_trunks(v: Vector) -> list[str]:
    return compare(v["expect"], _validity(trunks.validate_trunks(_trunks(v["trunks"]))))


def check_validate_rules(v: Vector) -> list[str]:
    return compare(v["expect"], _validity(rules.validate_rules(_rules(v["rules"]))))


def check_select_dispatch_rule(v: Vector) -> list[str]:
    decision = rules.select_dispatch_rule(
        _rules(v["rules"]), _trunk_or_none(v.get("matched_trunk")), _call(v["call"])
    )
    rule = decision.value
    actual = {"rule_id": rule.sip_dispatch_rule_id if rule is not None else None, **_error_fields(decision.error)}
    return compare(v["expect"], actual)


# Vector names of the response fields (docs/livekit.md#test-vectors) -> the response's proto field
# names.
_EVAL_RENAMES = {
    "identity": "participant_identity",
    "name": "participant_name",
    "metadata": "participant_metadata",
    "attributes": "participant_attributes",
}
# Fields of EvaluateSIPDispatchRulesResponse that routing never sets; `exact` needs them default.
_EVAL_NEVER_SET = ("token", "ws_url", "feature_flags")
_EVAL_DEFAULTS: dict[str, Any] = {
    "result": "ACCEPT", "project_id": "", "sip_trunk_id": "", "sip_dispatch_rule_id": "", "request_pin": False,
    "room_name": "", "participant_identity": "", "participant_name": "", "participant_metadata": "",
    "participant_attributes": {}, "room_preset": "", "room_config": None, "media_encryption": "SIP_MEDIA_ENCRYPT_DISABLE",
    "media": None, "headers": {}, "headers_to_attributes": {}, "attributes_to_headers": {},
    "include_headers": "SIP_NO_HEADERS", "ringing_timeout": None, "max_call_duration": None,
    "enabled_features": [], "token": "", "ws_url": "", "feature_flags": {},
}


def check_evaluate_dispatch_rule(v: Vector) -> list[str]:
    rule_list = _rules(v["rules"])
    if len(rule_list) != 1:
        raise ValueError(f"evaluate_dispatch_rule needs exactly one rule, got {len(rule_list)}")
    decision = evaluate.evaluate_dispatch_rule(
        v.get("project_id", ""), _trunk_or_none(v.get("matched_trunk")), rule_list[0], _call(v["call"]),
        rng=random.Random(0),
    )
    present = evaluate.evaluation_to_dict(decision.value) if decision.value is not None else {}
    full = {key: present.get(key, default) for key, default in _EVAL_DEFAULTS.items()}
    # In the response, an error means no result at all.
    if decision.value is None:
        full["result"] = None
    full.update({short: full[long] for short, long in _EVAL_RENAMES.items()})
    full.update(_error_fields(decision.error))
    expect = v["expect"]
    special = {
        "room_name_regex": regex_check("room_name"),
        "room_name_regex_strict": regex_check("room_name"),
    }
    problems = compare(expect, full, special=special)
    if expect.get("exact"):
        listed = {_EVAL_RENAMES.get(key, key) for key in expect}
        if listed & {"room_name_regex", "room_name_regex_strict"}:
            listed.add("room_name")
        for key, value in present.items():
            if key not in listed:
                problems.append(f"exact: unlisted {key} is {show(value)}, expected default")
    return problems


KINDS = {
    "normalize_number": check_normalize_number,
    "match_addr_mask": check_match_addr_mask,
    "match_addr_masks": check_match_addr_masks,
    "match_trunk": check_match_trunk,
    "validate_trunks": check_validate_trunks,
    "validate_rules": check_validate_rules,
    "select_dispatch_rule": check_select_dispatch_rule,
    "evaluate_dispatch_rule": check_evaluate_dispatch_rule,
}
