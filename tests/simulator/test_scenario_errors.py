"""Scenario errors: one line per real problem, at its file:line:col, like the spec's."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipconf.spec import SpecError
from simulator.scenario import load_file


def errors_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_file(path)
    return list(caught.value.lines)


def write(folder: Path, text: str) -> Path:
    path = folder / "calls.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_misspelt_wait_state_is_one_error_at_its_value(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {from: "+16505550111", to: "+15105550100"}
    steps:
      - wait: joinned
      - dtmf: "12a"
      - hangup: nobody
""")
    assert errors_of(file) == [
        f"{file}:5:15: error: scenarios[0].steps[0].wait: expected 'ringing', 'answered', 'joined', 'pin_prompt'"
        " or 'ended', got 'joinned' [invalid-value]",
        f"{file}:7:17: error: scenarios[0].steps[2].hangup: expected 'caller' or 'livekit', got 'nobody' [invalid-value]",
    ]


def test_steps_that_name_no_step_or_two_steps_get_one_line_each(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {from: "+16505550111", to: "+15105550100"}
    steps:
      - wiat: joined
      - hangup
      - {wait: joined, hangup: caller}
      - {dtmf: "1", methd: info}
      - {}
""")
    assert errors_of(file) == [
        f"{file}:5:9: error: scenarios[0].steps[0]: unknown step 'wiat' (did you mean 'wait'?) [unknown-step]",
        f"{file}:6:9: error: scenarios[0].steps[1]: expected a step mapping (one of: wait, dtmf, transfer, hangup,"
        " remove_participant), got 'hangup' [unknown-step]",
        f"{file}:7:9: error: scenarios[0].steps[2]: one step per list item: 'wait' and 'hangup' are separate steps [unknown-step]",
        f"{file}:8:21: error: unknown key 'methd' [unknown-key]",
        f"{file}:9:9: error: scenarios[0].steps[4]: expected a step mapping (one of: wait, dtmf, transfer, hangup,"
        " remove_participant), got dict [unknown-step]",
    ]


def test_a_source_off_loopback_is_refused_at_its_value(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {to: "+15105550100", source: 10.0.0.1}
  - name: y
    call: {to: "+15105550100", source: localhost}
""")
    assert errors_of(file) == [
        f"{file}:3:40: error: scenarios[0].call.source: source 10.0.0.1 is not in 127.0.0.0/8:"
        " the simulator calls from loopback only [source-not-loopback]",
        f"{file}:5:40: error: scenarios[1].call.source: source 'localhost' is not an IP address:"
        " use one in 127.0.0.0/8 [source-not-loopback]",
    ]


def test_trunk_and_rule_names_must_be_in_the_spec_with_a_suggestion(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {to: "+15105550100"}
    expect: {trunk: twillio, rule: nosuchrule}
  - name: y
    call: {direction: outbound, trunk: telnix, to: "+1", room: r}
""")
    assert errors_of(file) == [
        f"{file}:4:21: error: scenarios[0].expect.trunk: trunk 'twillio' is not in the spec (did you mean 'twilio'?) [unknown-trunk]",
        f"{file}:4:36: error: scenarios[0].expect.rule: dispatch rule 'nosuchrule' is not in the spec"
        " (the spec has: support, sales, front-desk, all-hands, board) [unknown-rule]",
        f"{file}:6:40: error: scenarios[1].call.trunk: outbound trunk 'telnix' is not in the spec (did you mean 'telnyx'?) [unknown-trunk]",
    ]


def test_a_regex_that_does_not_compile_is_one_error_at_the_regex(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {to: "+15105550100"}
    expect:
      room: {regex: '('}
      participant: {identity: 7}
""")
    assert errors_of(file) == [
        f"{file}:5:21: error: scenarios[0].expect.room.regex: regex '(' does not compile:"
        " missing ), unterminated subpattern at position 0 [bad-regex]",
        f"{file}:6:31: error: scenarios[0].expect.participant.identity: expected a string, got an integer (put it in quotes) [invalid-value]",
    ]


def test_schema_and_name_errors_of_one_file_come_together_in_line_order(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {to: "+15105550100", transprt: udp}
    expect: {rule: suport, status: "200"}
""")
    assert errors_of(file) == [
        f"{file}:3:32: error: unknown key 'transprt' (did you mean 'transport'?) [unknown-key]",
        f"{file}:4:20: error: scenarios[0].expect.rule: dispatch rule 'suport' is not in the spec (did you mean 'support'?) [unknown-rule]",
        f"{file}:4:36: error: scenarios[0].expect.status: expected an integer, got a string [invalid-value]",
    ]


def test_every_error_of_a_file_is_reported_not_only_the_first(suite_dir: Path):
    """A wrong field no longer hides the cross-field rules of its object, a duplicate key no
    longer hides the rest of the file, and a duplicate name is reported beside schema errors."""
    file = write(suite_dir, """scenarios:
  - name: one
    call: {from: "+16505550111", to: "+15105550100", transprt: udp}
    expect: {status: 200, trunk: twilo}
  - name: no callee and a bad transport
    call: {transport: sctp}
    expect: {status: 200, no_final_response: true, reason: 5}
  - name: outbound with nothing
    call: {direction: outbound}
  - name: inbound with outbound fields
    call: {to: "+1", from: 5, dtmf: "1", room: x}
  - name: one
    call: {to: "+1", to: "+2"}
""")
    assert errors_of(file) == [
        f"{file}:3:54: error: unknown key 'transprt' (did you mean 'transport'?) [unknown-key]",
        f"{file}:4:34: error: scenarios[0].expect.trunk: trunk 'twilo' is not in the spec (did you mean 'twilio'?) [unknown-trunk]",
        f"{file}:6:11: error: scenarios[1].call: an inbound call needs 'to' [invalid-value]",
        f"{file}:6:23: error: scenarios[1].call.transport: expected 'udp' or 'tcp', got 'sctp' [invalid-value]",
        f"{file}:7:27: error: scenarios[1].expect: 'no_final_response' and 'status' exclude each other [invalid-value]",
        f"{file}:7:60: error: scenarios[1].expect.reason: expected a string, got an integer (put it in quotes) [invalid-value]",
        f"{file}:9:11: error: scenarios[2].call: an outbound call needs 'trunk' (the spec name of an outbound trunk),"
        " 'to' (sip_call_to) and 'room' [invalid-value]",
        f"{file}:11:28: error: scenarios[3].call.from: expected a string, got an integer (put it in quotes) [invalid-value]",
        f"{file}:11:31: error: scenarios[3].call.dtmf: 'dtmf' is a CreateSIPParticipant field: only for direction: outbound"
        " [outbound-only]",
        f"{file}:11:42: error: scenarios[3].call.room: 'room' is a CreateSIPParticipant field: only for direction: outbound"
        " [outbound-only]",
        f"{file}:12:11: error: duplicate scenario name 'one' (first defined at {file}:2:5) [duplicate-scenario]",
        f"{file}:13:22: error: duplicate key 'to' (first defined at {file}:13:12) [duplicate-key]",
    ]


def test_a_broken_spec_is_reported_with_the_scenario_files_own_errors(suite_dir: Path):
    spec = suite_dir / "spec.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("project: acme", "project: acme\nprojekt: x", 1), encoding="utf-8")
    file = write(suite_dir, 'scenarios:\n  - name: x\n    call: {to: "+15105550100", form: "+1"}\n')
    lines = errors_of(file)
    assert f"{file}:3:32: error: unknown key 'form' (did you mean 'from'?) [unknown-key]" in lines
    assert any(line.startswith(f"{spec}:") and "unknown key 'projekt'" in line for line in lines), lines


def test_expected_digits_on_an_inbound_call_are_refused_with_the_reason(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: PIN digits
    call: {from: "+14085550011", to: "+14155550100"}
    steps:
      - dtmf: "4321#"
    expect: {status: 200, digits: "4321#"}
  - name: outbound digits are fine
    call: {direction: outbound, trunk: twilio, to: "+16505550111", room: r, dtmf: "12"}
    expect: {digits: "12"}
""")
    assert errors_of(file) == [
        f"{file}:6:27: error: scenarios[0].expect.digits: an inbound call's digits go to LiveKit, and no API shows them,"
        " so they can never be observed; `digits` is for outbound calls (what the far end received). To test a PIN,"
        " expect the room it opens, or joined: false for a wrong one [unobservable-digits]",
    ]


def test_bad_dtmf_digits_name_the_characters_and_the_allowed_ones(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {from: "+16505550111", to: "+15105550100"}
    steps:
      - dtmf: "12x"
      - dtmf: "1 2,E"
      - dtmf: ""
      - dtmf: "0123456789*#ABCDabcd"
""")
    assert errors_of(file) == [
        f"{file}:5:15: error: scenarios[0].steps[0].dtmf: '12x': 'x' is not a DTMF digit;"
        " the digits are 0-9, *, # and A-D (or a-d) [invalid-dtmf]",
        f"{file}:6:15: error: scenarios[0].steps[1].dtmf: '1 2,E': ' ', ',', 'E' are not DTMF digits;"
        " the digits are 0-9, *, # and A-D (or a-d) [invalid-dtmf]",
        f"{file}:7:15: error: scenarios[0].steps[2].dtmf: no digits: a dtmf step sends one or more of"
        " 0-9, *, # and A-D (or a-d) [invalid-dtmf]",
    ]


def test_a_transfer_target_that_is_no_uri_says_what_a_target_looks_like(suite_dir: Path):
    file = write(suite_dir, """scenarios:
  - name: x
    call: {direction: outbound, trunk: twilio, to: "+16505550111", room: r}
    steps:
      - transfer: "+16505550198"
""")
    assert errors_of(file) == [
        f"{file}:5:19: error: scenarios[0].steps[0].transfer: transfer target '+16505550198' is not a tel: or sip: URI"
        " (tel:+15105550100, sip:desk@example.com) [invalid-transfer]",
    ]
