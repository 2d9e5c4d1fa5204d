"""LiveKit-invalid combinations: each spec in bad/ fails `sipconf validate` (a real subprocess)
with exactly this line, at the YAML position of the problem, exit 1 and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

SECURITY = "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers"
CASES = {
    "inbound_no_security": f"5:5: error: {SECURITY} [livekit-rejects-object]",
    "outbound_sip_uri_address":
        "6:16: error: trunk address should be a hostname or IP, not SIP URI [livekit-rejects-object]",
    "outbound_transport_param":
        "6:16: error: trunk address should not contain transport parameter [livekit-rejects-object]",
    "outbound_no_numbers": '5:5: error: no trunk numbers specified: outbound trunk "carrier" needs the caller ids'
        " it may use; list them under outbound.numbers [outbound-trunk-no-numbers]",
    "invalid_header_name": "8:17: error: invalid header name: header name X Acme contains invalid characters:"
        " char 32 not allowed [livekit-rejects-object]",
    "forbidden_header_name":
        "8:17: error: invalid header name: header name Contact not supported [livekit-rejects-object]",
    "invalid_mapped_header": "7:31: error: invalid header name: header name X-Tier: contains invalid characters:"
        " char 58 not allowed [livekit-rejects-object]",
    "to_header_warning": "8:17: warning: header To is not supported and will be rejected in a future release;"
        " use CreateSIPParticipantRequest.to_user_override instead [livekit-header-warning]",
    "media_timeout_too_long": "7:24: error: media_timeout must not exceed 10m0s [livekit-rejects-object]",
    "codec_with_slash": "7:24: error: codec name must not contain '/' [livekit-rejects-object]",
    "conflicting_trunks": 'error: Conflicting inbound SIP Trunks: "second" and "first", using the same number(s)'
        ' ["+15105550100"] without AllowedNumbers set [livekit-trunk-conflict]',
    "duplicate_rule_key": "11:3: error: Dispatch rule for the same trunk, inbound number, number, and PIN"
        ' combination already exists in dispatch rule "lobby" "lobby" [livekit-rule-conflict]',
    "bad_destination_country": "8:28: error: destination_country 'EU': country must be a valid ISO 3166-1"
        " alpha-2 code (2-letter like 'US', 'IN', 'UK') [outbound-destination-country]",
    "overlapping_trunks": 'error: inbound trunk "vip" and inbound trunk "everyone" both accept a call to'
        " +15105550100 from caller +14085550001 from 192.0.2.1: LiveKit answers 503 Try again later"
        ' (Multiple SIP Trunks matched for "+15105550100"); give them distinct numbers or non-overlapping'
        " allowed_numbers/allowed_addresses [inbound-trunks-overlap]",
    "unknown_trunk": 'error: dispatch rule "support" names unknown trunk "twillio": did you mean "twilio"?'
        " [rule-unknown-trunk]",
    "outbound_only_trunk": 'error: dispatch rule "support" names trunk "dialer", which has only an outbound'
        " half: no inbound call can match it; add an inbound half or remove it from the rule"
        " [rule-outbound-only-trunk]",
    "unreachable_rule": 'error: dispatch rule "sales" can never be selected: no call its trunks accept matches'
        " its numbers and inbound_numbers; align them with the trunks' numbers and allowed_numbers"
        " [rule-unreachable]",
}
# Where the position is not spelled out above, it is the first entry of the offending list.
POSITIONS = {
    "conflicting_trunks": "9:16", "overlapping_trunks": "10:16", "unknown_trunk": "9:14",
    "outbound_only_trunk": "13:14", "unreachable_rule": "10:14",
}


def test_every_file_has_a_case():
    assert sorted(p.stem for p in (HERE / "bad").glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_spec(name):
    expected = CASES[name]
    if name in POSITIONS:
        expected = f"{POSITIONS[name]}: {expected}"
    # --strict: a LiveKit warning fails too, so every file here exits 1.
    run = subprocess.run(
        [sys.executable, "-m", "sipconf", "validate", "--strict", f"bad/{name}.yaml"],
        cwd=HERE, capture_output=True, text=True, timeout=60,
    )
    lines = run.stdout.splitlines()
    assert lines[0] == f"bad/{name}.yaml:{expected}"
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr


def test_demo_spec_has_no_issues():
    from sipconf.checks import run_checks
    from sipconf.spec import load

    demo = HERE.parents[1] / "scenarios" / "demo" / "spec.yaml"
    assert run_checks(load(demo)) == []
    assert run_checks(load(demo, env="prod")) == []
