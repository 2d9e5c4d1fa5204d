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
