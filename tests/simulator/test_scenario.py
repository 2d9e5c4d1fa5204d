"""Scenario format, discovery and errors at file:line:col."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sipconf.cli import main
from sipconf.spec import SpecError
from simulator.scenario import discover, load_file, load_paths, nearest_spec
from simulator.scenario.models import Dtmf, Pattern, Transfer, Wait
from simulator.scenario.schema import json_schema

from tests.simulator.conftest import DEMO


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_file(path)
    return list(caught.value.lines)


def test_demo_suite_has_at_least_twenty_scenarios_in_the_four_folders():
    loaded = load_paths([DEMO])
    assert len(loaded) >= 20
    folders = {s.file.parent.name for s in loaded}
    assert folders == {"inbound", "outbound", "dtmf", "refer"}
    assert {s.spec for s in loaded} == {(DEMO / "spec.yaml").resolve()}


def test_discovery_skips_spec_files_and_finds_nested_yaml(suite_dir: Path):
    write(suite_dir / "spec-prod.yaml", "version: 1\n")
    a = write(suite_dir / "a" / "one.yaml", "scenarios: []\n")
    b = write(suite_dir / "a" / "b" / "two.yaml", "scenarios: []\n")
    assert discover([suite_dir]) == sorted([a, b])


def test_nearest_spec_is_found_in_a_parent_folder(suite_dir: Path):
    file = write(suite_dir / "x" / "y" / "calls.yaml", "")
    assert nearest_spec(file) == (suite_dir / "spec.yaml").resolve()


def test_steps_and_patterns_parse_into_their_types(suite_dir: Path):
    file = write(suite_dir / "s.yaml", """
scenarios:
  - name: all steps
    call: {from: "+1650", to: "+15105550100", source: 127.0.0.9}
    steps:
      - wait: answered
      - dtmf: "12#"
      - transfer: "tel:+1555"
    expect:
      room: {regex: 'a.*'}
""")
    [loaded] = load_file(file)
    sc = loaded.scenario
    assert [type(s) for s in sc.steps] == [Wait, Dtmf, Transfer]
    assert sc.call.from_ == "+1650" and sc.call.source == "127.0.0.9"
    assert sc.expect.room == Pattern(regex="a.*")
    assert loaded.origin.line == 3 and loaded.origin.col == 5


def test_unknown_key_points_at_its_line_and_suggests_the_yaml_name(suite_dir: Path):
    file = write(suite_dir / "bad.yaml", 'scenarios:\n  - name: typo\n    call: {to: "+15105550100", form: "+1650"}\n')
    assert errors_of(file) == [f"{file}:3:32: error: unknown key 'form' (did you mean 'from'?) [unknown-key]"]


def test_every_problem_of_a_file_is_reported_once(suite_dir: Path):
    file = write(suite_dir / "bad.yaml", """scenarios:
  - name: outbound without trunk
    call: {direction: outbound, to: "+1650"}
  - name: bad expect
    call: {to: "+15105550100"}
    expect: {status: "200"}
""")
    assert errors_of(file) == [
        f"{file}:3:11: error: scenarios[0].call: an outbound call needs 'trunk' (the spec name of an outbound trunk)"
        " and 'room' [invalid-value]",
        f"{file}:6:22: error: scenarios[1].expect.status: expected an integer, got a string [invalid-value]",
    ]


def test_duplicate_scenario_names_are_an_error(suite_dir: Path):
    file = write(suite_dir / "dup.yaml", """scenarios:
  - name: same
    call: {to: "+1"}
  - name: same
    call: {to: "+2"}
""")
    assert errors_of(file) == [f"{file}:4:11: error: duplicate scenario name 'same' (first defined at {file}:2:5) [duplicate-scenario]"]


def test_a_literal_password_is_refused_like_in_the_spec(suite_dir: Path):
    file = write(suite_dir / "lit.yaml", """scenarios:
  - name: literal
    call: {to: "+1", auth: {username: u, password: hunter2}}
""")
    assert errors_of(file) == [
        f"{file}:3:52: error: scenarios[0].call.auth.password: literal secret: use {{env: NAME}} or {{file: PATH}}"
        " (or --allow-literal-secrets) [literal-secret]"
    ]


def test_no_spec_anywhere_is_an_error(tmp_path: Path):
    file = write(tmp_path / "lonely" / "calls.yaml", 'scenarios:\n  - name: a\n    call: {to: "+1"}\n')
    assert nearest_spec(file) is None
    assert errors_of(file) == [f"{file}:1:1: error: no spec.yaml in this folder or a parent folder: "
                                f"give it with `spec:` in the suite file or `--spec FILE` [no-spec]"]


def test_schema_command_prints_the_scenario_schema(capsys):
    assert main(["schema", "--scenario"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(json_schema()))
    assert "scenarios" in printed["properties"]
    assert "from" in json.dumps(printed["$defs"]["Call"]["properties"])
