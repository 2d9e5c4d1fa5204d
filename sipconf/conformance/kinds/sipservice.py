"""Vector kinds for the SIP service's pure rules (docs/livekit.md#test-vectors).

Each check only turns the vector's input into the real call (the same functions the
bridge uses) and the result back into the vector's vocabulary.
"""

from __future__ import annotations

from typing import Any

from sipconf.conformance.compare import compare
from sipconf.outbound import invite_errors
from sipconf.routing.errors import LiveKitError
from sipconf.outbound.notify import handle_notify
from sipconf.outbound.headers import OutboundRequest, build_outbound_headers
from sipconf.outbound.reason import parse_reason
from sipconf.outbound.sipstatus import SIPStatus, sip_status_to_grpc


def check_build_outbound_headers(vector: dict[str, Any]) -> list[str]:
    inp = vector["input"]
    req = OutboundRequest.from_json(inp.get("internal_request") or {})
    actual: dict[str, Any]
    try:
        uri, from_, to = build_outbound_headers(req, inp.get("default_host", "")).rendered()
        actual = {"request_uri": uri, "from": from_, "to": to, "error": None}
    except LiveKitError as exc:
        actual = {"request_uri": None, "from": None, "to": None, "error": exc.message}
    return compare(vector["expect"], actual)


# Vector names for the sentinel and SDP variants (the Go error each stands for).
_SENTINELS = {
    "sip_request_timeout": lambda: invite_errors.psrpc_error("canceled", invite_errors.SIPRequestTimeout()),
    "auth_max_retry": lambda: invite_errors.psrpc_error("failed_precondition", invite_errors.AuthMaxRetry()),
    "auth_missing_creds": lambda: invite_errors.psrpc_error("failed_precondition", invite_errors.AuthMissingCredentials()),
    "auth_missing_credentials": lambda: invite_errors.psrpc_error("failed_precondition", invite_errors.AuthMissingCredentials()),
    "auth_no_creds": lambda: invite_errors.psrpc_error("failed_precondition", invite_errors.AuthMissingCredentials()),
    "auth_no_header": lambda: invite_errors.psrpc_error("failed_precondition", invite_errors.AuthNoChallenge()),
    "auth_no_challenge": lambda: invite_errors.psrpc_error("failed_precondition", invite_errors.AuthNoChallenge()),
}
_SDP_KINDS = {
    "no_common_media": invite_errors.SDPError.NO_COMMON_MEDIA,
    "no_common_codec": invite_errors.SDPError.NO_COMMON_MEDIA,
    "codec": invite_errors.SDPError.NO_COMMON_MEDIA,
    "media": invite_errors.SDPError.NO_COMMON_MEDIA,
    "no_common_crypto": invite_errors.SDPError.NO_COMMON_CRYPTO,
    "crypto": invite_errors.SDPError.NO_COMMON_CRYPTO,
    "encryption": invite_errors.SDPError.NO_COMMON_CRYPTO,
    "encryption_required": invite_errors.SDPError.NO_COMMON_CRYPTO,
    "other": invite_errors.SDPError.OTHER,
}
_NET = {
    "dns_error": lambda: invite_errors.NetDNSError("lookup voip.example.com: no such host"),
    "addr_error": lambda: invite_errors.NetAddressError("address voip.example.com: missing port in address"),
    "op_error": lambda: invite_errors.NetOpError("dial tcp: connection refused"),
}
_CONTEXT = {"deadline_exceeded": invite_errors.ContextDeadlineExceeded, "canceled": invite_errors.ContextCanceled}


def invite_error_from_vector(spec: dict[str, Any]) -> BaseException:
    """Build the error a `classify_invite_error` vector describes, as the bridge would raise it."""
    err: BaseException
    if "carrier_blocked" in spec:
        cb = spec["carrier_blocked"]
        err = invite_errors.CarrierBlocked(SIPStatus(cb["sip_status"], cb.get("status_text", "")),
                                cb.get("provider", "twilio"), cb.get("provider_code", 0))
    elif "sip_status" in spec:
        code = spec["sip_status"]
        prefix = "INVITE failed" if code in (400, 404, 480, 486, 488) else "unexpected status from INVITE response"
        err = invite_errors.WrappedError(prefix, SIPStatus(code, spec.get("status_text", "")))
    elif "sdp_error" in spec:
        err = invite_errors.SDPError(_SDP_KINDS[spec["sdp_error"]])
    elif "sentinel" in spec:
        err = _SENTINELS[spec["sentinel"]]()
    elif "context" in spec:
        err = _CONTEXT[spec["context"]]()
    elif "net" in spec:
        err = _NET[spec["net"]]()
    elif "transaction_timeout" in spec:
        n = spec["transaction_timeout"].get("provisional_responses", 0)
        err = invite_errors.psrpc_error("canceled", invite_errors.TransactionEnded(n))
    elif "other" in spec:
        err = Exception(spec["other"])
    else:
        raise ValueError(f"unknown error description {sorted(spec)}")
    if spec.get("wrapped"):
        err = invite_errors.WrappedError("INVITE blocked by carrier" if "carrier_blocked" in spec else "wrapped", err)
    return err


def check_classify_invite_error(vector: dict[str, Any]) -> list[str]:
    inp = vector["input"]
    err = invite_error_from_vector(inp["error"])
    c = invite_errors.classify_invite_error(err, after_invite_sent=bool(inp.get("after_invite_sent")))
    actual = {
        "call_status": c.call_status,
        "termination": c.termination,
        "disconnect_reason": c.disconnect_reason,
        "report_error": c.report_error,
        "return_error_code": invite_errors.grpc_code_of(c.return_error),
        "return_error_unchanged": c.return_error is err,
    }
    return compare(vector["expect"], actual)


def check_parse_leading_provider_code(vector: dict[str, Any]) -> list[str]:
    return compare(vector["expect"], {"code": invite_errors.parse_leading_provider_code(vector["input"]["value"])})


def check_carrier_block_from_response(vector: dict[str, Any]) -> list[str]:
    inp = vector["input"]
    block = invite_errors.carrier_block_from_response(inp["status"], inp.get("reason", ""), inp.get("headers") or {})
    actual: dict[str, Any] = {"blocked": block is not None}
    if block is not None:
        c = invite_errors.classify_invite_error(invite_errors.WrappedError("INVITE blocked by carrier", block))
        actual |= {
            "call_status": c.call_status,
            "termination": c.termination,
            "disconnect_reason": c.disconnect_reason,
            "sip_status": block.status.code,
            "provider": block.provider,
            "provider_code": block.provider_code,
        }
    known = {"blocked", "call_status", "termination", "disconnect_reason", "sip_status", "provider", "provider_code"}
    return compare(vector["expect"], actual, known=known)


def check_parse_reason_header(vector: dict[str, Any]) -> list[str]:
    try:
        r = parse_reason(vector["input"]["header"])
    except ValueError as exc:
        actual = {"reason": None, "is_normal": None, "error": str(exc)}
    else:
        actual = {"reason": {"type": r.type, "cause": r.cause, "text": r.text}, "is_normal": r.is_normal, "error": None}
    return compare(vector["expect"], actual)


def check_handle_notify(vector: dict[str, Any]) -> list[str]:
    inp = vector["input"]
    try:
        n = handle_notify(inp.get("headers") or {}, inp.get("body", ""))
    except LiveKitError as exc:
        actual = {"error": exc.code, "error_message": exc.message, "method": None, "cseq": None, "status": None, "reason": None}
    else:
        actual = {"error": None, "method": n.method, "cseq": n.cseq, "status": n.status, "reason": n.reason}
    return compare(vector["expect"], actual, known={"error", "error_message", "method", "cseq", "status", "reason"})


def check_sip_status_to_grpc(vector: dict[str, Any]) -> list[str]:
    inp = vector["input"]
    grpc, twirp, message = sip_status_to_grpc(inp["code"], inp.get("status", ""))
    return compare(vector["expect"], {"grpc_code": grpc, "twirp_code": twirp, "message": message})


KINDS = {
    "build_outbound_headers": check_build_outbound_headers,
    "classify_invite_error": check_classify_invite_error,
    "parse_leading_provider_code": check_parse_leading_provider_code,
    "carrier_block_from_response": check_carrier_block_from_response,
    "parse_reason_header": check_parse_reason_header,
    "handle_notify": check_handle_notify,
    "sip_status_to_grpc": check_sip_status_to_grpc,
}
