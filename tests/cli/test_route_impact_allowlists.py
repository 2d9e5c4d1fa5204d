"""Route impact of allowlist changes, end to end: the demo spec applied to the embedded control
plane, then planned and applied with an address or caller allowlist entry removed."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_plan_apply import DEMO_SPEC, DEMO_VALUES, run, server  # noqa: F401 (the fixture)

ROUTED = "trunk twilio, rule {rule}, room {room}"
NO_TRUNK = "rejected (404 No trunk found)"
NO_RULE = "404 Does not match Trunks or Dispatch Rules"


@pytest.fixture
def demo(server, monkeypatch, capsys):  # noqa: F811
    for name, value in DEMO_VALUES.items():
        monkeypatch.setenv(name, value)
    assert run(capsys, "apply", str(DEMO_SPEC), "--auto-approve")[0] == 0
    return server


def live_id(text: str) -> str:
    return text.split("~ trunks.twilio.inbound (")[1].split(")")[0]


def test_a_sales_line_moved_to_a_new_room_prefix_is_one_row_for_a_hundred_callers(demo, capsys, tmp_path):
    spec = edited(tmp_path, "callee: {room_prefix: sales, randomize: false}", "callee: {room_prefix: sales-line, randomize: false}")
    code, out, _ = run(capsys, "plan", str(spec), "--detailed-exitcode")
    assert code == 2
    impact = out.split("Route impact (inbound calls):\n")[1].split("\n\n")[0].splitlines()
    assert impact == [
        "  +14155550101 from callers +14085550000..+14085550099 (100): trunk telnyx, rule sales, room sales_<called>"
        " -> trunk telnyx, rule sales, room sales-line_<called>",
        "  +15105550101 from 127.0.0.11/32, 127.0.1.0/24: trunk twilio, rule sales, room sales_<called>"
        " -> trunk twilio, rule sales, room sales-line_<called>",
    ]


def edited(tmp_path, old: str, new: str):
    path = tmp_path / "spec.yaml"
    text = DEMO_SPEC.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def test_removing_an_address_range_shows_the_numbers_from_it_in_rows_and_needs_force(demo, capsys, tmp_path):
    spec = edited(tmp_path, '["127.0.0.11/32", "127.0.1.0/24"]', '["127.0.0.11/32"]')
    code, out, _ = run(capsys, "plan", str(spec), "--detailed-exitcode")
    assert code == 2
    assert out.splitlines()[1:3] == [
        f"~ trunks.twilio.inbound ({live_id(out)})  # {spec}:11",
        f"    - allowed_addresses: 127.0.1.0/24  # {spec}:16",
    ]
    impact = out.split("Route impact (inbound calls):\n")[1].split("\n\n")[0].splitlines()
    support = ROUTED.format(rule="support", room="support_<caller>_<random>")
    sales = ROUTED.format(rule="sales", room="sales_<called>")
    front = ROUTED.format(rule="front-desk", room="front-desk")
    unmatched = f"rejected ({NO_RULE})"
    assert impact == [
        f"  +15105550100 from 127.0.1.0/24: {support} -> {NO_TRUNK}",
        f"  +15105550101 from 127.0.1.0/24: {sales} -> {NO_TRUNK}",
        "  +15105550102..+15105550109, +15105550111..+15105550119, +15105550150 (18 numbers) from 127.0.1.0/24:"
        f" {unmatched} -> {NO_TRUNK}",
        f"  +15105550110 from 127.0.1.0/24: {front} -> {NO_TRUNK}",
        "Needs --force: the plan unroutes 3 routed number(s): +15105550100, +15105550101, +15105550110 from 127.0.1.0/24",
    ]
    code, _out, err = run(capsys, "apply", str(spec), "--auto-approve")
    assert (code, err) == (1, (
        "refusing to apply without --force: the plan unroutes 3 routed number(s):"
        " +15105550100, +15105550101, +15105550110 from 127.0.1.0/24\n"
    ))
    assert run(capsys, "plan", str(DEMO_SPEC), "--detailed-exitcode")[0] == 0  # nothing was applied
    assert run(capsys, "apply", str(spec), "--auto-approve", "--force")[0] == 0
    code, out, _ = run(capsys, "plan", str(spec), "--detailed-exitcode")
    assert (code, out.splitlines()[-1]) == (0, "No changes. The live project matches the spec.")


def test_the_json_plan_names_the_source_of_each_row(demo, capsys, tmp_path):
    spec = edited(tmp_path, '["127.0.0.11/32", "127.0.1.0/24"]', '["127.0.0.11/32"]')
    code, out, err = run(capsys, "plan", str(spec), "--format", "json")
    rows = json.loads(out)["route_impact"]
    assert {(tuple(r["sources"]), r["callers"]) for r in rows} == {(("127.0.1.0/24",), None)}
    assert rows[0]["numbers"] == ["+15105550100"] and rows[0]["after"]["rejection"] == "404 No trunk found"
    assert rows[2]["numbers"] == ["+15105550102..+15105550109", "+15105550111..+15105550119", "+15105550150"]
    assert rows[2]["count"] == 18
    assert err.splitlines()[0] == f"Target: {demo.url}"


def test_removing_an_allowed_caller_shows_the_numbers_from_that_caller_and_needs_force(demo, capsys, tmp_path):
    spec = edited(tmp_path, '"+14085550000..+14085550099"', '"+14085550000..+14085550098"')
    code, out, _ = run(capsys, "plan", str(spec), "--detailed-exitcode")
    assert code == 2
    impact = out.split("Route impact (inbound calls):\n")[1].split("\n\n")[0].splitlines()
    all_hands = "trunk telnyx, rule all-hands, room all-hands (PIN)"
    sales = "trunk telnyx, rule sales, room sales_<called>"
    assert impact == [
        f"  +14155550100 from caller +14085550099: {all_hands} -> {NO_TRUNK}",
        f"  +14155550101 from caller +14085550099: {sales} -> {NO_TRUNK}",
        "Needs --force: the plan unroutes 2 routed number(s): +14155550100, +14155550101 from caller +14085550099",
    ]
    code, _out, err = run(capsys, "apply", str(spec), "--auto-approve")
    assert (code, err) == (1, (
        "refusing to apply without --force: the plan unroutes 2 routed number(s):"
        " +14155550100, +14155550101 from caller +14085550099\n"
    ))
    assert run(capsys, "apply", str(spec), "--auto-approve", "--force")[0] == 0


def test_markdown_on_stdout_starts_with_the_marker_and_the_target_goes_to_stderr(demo, capsys, tmp_path):
    spec = edited(tmp_path, '["127.0.0.11/32", "127.0.1.0/24"]', '["127.0.0.11/32"]')
    code, out, err = run(capsys, "plan", str(spec), "--format", "markdown")
    assert out.startswith("<!-- sipconf/plan -->\n") and f"Target: `{demo.url}`" in out
    assert err.splitlines()[0] == f"Target: {demo.url}"
    row = "| +15105550100 | 127.0.1.0/24 | trunk twilio, rule support, room support\\_\\<caller\\>\\_\\<random\\> |"
    assert row + f" {NO_TRUNK} |" in out
