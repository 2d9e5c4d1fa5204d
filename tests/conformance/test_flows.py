"""The flow kinds run through the real bridge; every public vector of them passes."""

from __future__ import annotations

import io

import pytest

from sipconf.conformance.kinds.flows import check_inbound_sip_flow
from sipconf.conformance.runner import run


def test_flow_kinds_pass_on_public_vectors(public_vectors):
    for kind, count in (("inbound_sip_flow", 1), ("transfer_flow", 3)):
        out = io.StringIO()
        assert run([str(public_vectors)], kind=kind, out=out) == (count, 0), out.getvalue()


# Every answer the decision layer can give, fixed as the `inbound_sip_flow` vectors fix it,
# and what the SIP service sends for it (the auth and dispatch tables of LiveKit's inbound
# call handling). `responses` lists every status sent for the first INVITE.
DECISION_ANSWERS = {
    "auth error": ({"auth_handler": {"error": "no trunk lookup"}},
                   {"responses": [100, 503], "final_reason": "Try again later", "dispatch_calls": 0}),
    "AuthDrop": ({"auth_handler": {"result": "AuthDrop"}},
                 {"responses": [100], "final_responses": [None], "dispatch_calls": 0}),
    "AuthNotFound": ({"auth_handler": {"result": "AuthNotFound"}},
                     {"responses": [100, 404], "final_reason": "Does not match any SIP Trunks", "dispatch_calls": 0}),
    "AuthNotFound, port hidden": ({"hide_inbound_port": True, "auth_handler": {"result": "AuthNotFound"}},
                                  {"responses": [404], "final_reason": "Does not match any SIP Trunks"}),
    "AuthQuotaExceeded": ({"auth_handler": {"result": "AuthQuotaExceeded"}, "invites": 2},
                          {"responses": [100, 503], "final_responses": [503, 503], "auth_calls": 1,
                           "final_reason": "Service temporarily unavailable"}),
    "AuthNoTrunkFound": ({"auth_handler": {"result": "AuthNoTrunkFound"}},
                         {"responses": [100, 404], "final_reason": "No trunk found", "dispatch_calls": 0}),
    "AuthPassword": ({"hide_inbound_port": True, "first_invite": {"proxy_authorization": None},
                      "auth_handler": {"result": "AuthPassword", "username": "flow", "password": "secret"}},
                     {"first_invite_responses": [100, 407], "final_responses": [407, 200], "final_reason": "OK",
                      "challenge_header": "Proxy-Authenticate", "challenge_realm_default": "LiveKit",
                      "auth_calls": 2, "dispatch_calls": 1}),
    "an AuthResult the service does not know": ({"auth_handler": {"result": "AuthSomethingNew"}},
                                                {"responses": [100, 180, 200], "dispatch_calls": 1}),
    "DispatchNoRuleDrop": ({"dispatch_handler": {"result": "DispatchNoRuleDrop"}},
                           {"responses": [100, 180], "final_responses": [None]}),
    "DispatchServiceUnavailable": ({"dispatch_handler": {"result": "DispatchServiceUnavailable"}, "invites": 2},
                                   {"responses": [100, 180, 503], "final_responses": [503, 503],
                                    "final_reason": "Try again later", "dispatch_calls": 1}),
    "DispatchAccept": ({"dispatch_handler": {"result": "DispatchAccept"}},
                       {"responses": [100, 180, 200], "final_reason": "OK"}),
    "DispatchRequestPin": ({"dispatch_handler": {"result": "DispatchRequestPin"}},
                           {"responses": [100, 180, 200], "final_reason": "OK"}),
    "a DispatchResult the service does not know": ({"dispatch_handler": {"result": "DispatchSomethingNew"}},
                                                   {"responses": [100, 180, 501], "final_reason": ""}),
}


@pytest.mark.parametrize("case", DECISION_ANSWERS)
def test_every_decision_answer_gets_livekits_response(case):
    given, expect = DECISION_ANSWERS[case]
    call = {"from_user": "+15550001111", "to_user": "+15550002222", "call_id": f"{case}@flows", "from_tag": "flows"}
    assert check_inbound_sip_flow({"input": call | given, "expect": expect}) == []
