"""A plan reads at any size: line budgets, short lines, route impact capped, markdown under
GitHub's comment limit. Line counts are behaviour (what a reviewer must read), not timing."""

from __future__ import annotations

import copy
import json

import pytest

from sipconf.plan.plan import make_plan
from sipconf.plan.render.json_plan import JsonRenderer
from sipconf.plan.render.markdown import COMMENT_LIMIT, MarkdownRenderer
from sipconf.plan.render.text import TextRenderer
from tests.plan.spec_gen import desired_of, matching_inventory, spec_document, trunk_numbers

KEY = "k" * 32


def plan_of(desired, inventory):
    return make_plan(desired, inventory, url="http://127.0.0.1:1", key=KEY)


@pytest.fixture(scope="module")
def ten_thousand():
    """A 10,000-number spec (1,000 trunks, 2,000 rules) and a live project that matches it."""
    doc = spec_document(1_000)
    return doc, matching_inventory(desired_of(doc))


def add_twenty(doc):
    doc["trunks"]["t7"]["inbound"]["numbers"] += [f"+1520000{n:04d}" for n in range(20)]


def move_twenty(doc):
    """The last five numbers of t1, t3, t5 and t7 move to the next trunk (their rules stay)."""
    for source, target in (("t1", "t2"), ("t3", "t4"), ("t5", "t6"), ("t7", "t8")):
        numbers = doc["trunks"][source]["inbound"]["numbers"]
        doc["trunks"][source]["inbound"]["numbers"] = numbers[:5]
        doc["trunks"][target]["inbound"]["numbers"] += numbers[5:]


def empty_two(doc):
    """t1 and t3 lose all ten numbers: they become default trunks, taking calls to any number."""
    for name in ("t1", "t3"):
        doc["trunks"][name]["inbound"]["numbers"] = []


@pytest.mark.parametrize("edit", [add_twenty, move_twenty, empty_two])
def test_a_twenty_number_edit_of_a_ten_thousand_number_spec_plans_in_under_40_lines(ten_thousand, edit):
    doc, live = ten_thousand
    edited = copy.deepcopy(doc)
    edit(edited)
    plan = plan_of(desired_of(edited), live)
    text = TextRenderer().render(plan)
    assert len(text.splitlines()) < 40, text
    assert max(len(line) for line in text.splitlines()) < 300, text
    md = MarkdownRenderer().render(plan)
    assert len(md.splitlines()) < 50 and len(md) < 10_000


def test_twenty_added_numbers_are_one_field_line_and_one_route_row(ten_thousand):
    doc, live = ten_thousand
    edited = copy.deepcopy(doc)
    add_twenty(edited)
    text = TextRenderer().render(plan_of(desired_of(edited), live))
    assert text.splitlines() == [
        "~ trunks.t7.inbound (ST_t7)  # generated.yaml:1",
        "    + numbers: +15200000000..+15200000019 (20)",
        "",
        "Route impact (inbound calls):",
        "  +15200000000..+15200000019 (20 numbers) from 127.0.7.0/24: rejected (404 No trunk found)"
        " -> rejected (404 Does not match Trunks or Dispatch Rules)",
        "",
        "Plan: 0 to create, 1 to update, 0 to delete.",
    ]


def test_a_ten_thousand_number_trunk_and_a_thousand_number_trunk_plan_in_short_lines():
    doc = {
        "version": 1,
        "project": "big",
        "trunks": {
            "big": {"inbound": {"numbers": ["+15100000000..+15100009999"], "allowed_numbers": ["+14080000000..+14080009999"]}},
            "small": {"inbound": {"numbers": ["+15200000000..+15200000999"], "allowed_addresses": ["127.0.0.0/24"]}},
        },
        "dispatch_rules": {
            "big": {"trunks": ["big"], "individual": {"room_prefix": "nurse"}},
            "small": {"trunks": ["small"], "callee": {"room_prefix": "line"}},
        },
    }
    plan = plan_of(desired_of(doc), matching_inventory(desired_of(spec_document(0, project="big"))))
    text = TextRenderer().render(plan)
    lines = text.splitlines()
    assert len(lines) < 25 and max(len(line) for line in lines) < 200, text
    assert "    + numbers: [+15100000000..+15100009999] (10,000)" in lines
    assert (
        "  +15100000000..+15100009999 (10,000 numbers) from callers +14080000000..+14080009999 (10,000):"
        " rejected (404 No trunk found) -> trunk big, rule big, room nurse_<caller>_<random>"
    ) in lines
    assert len(json.dumps(json.loads(JsonRenderer().render(plan)))) < 10_000


@pytest.fixture(scope="module")
def first_apply():
    """Creating 300 trunks and 600 rules: 3,000 numbers, one route row per rule."""
    return plan_of(desired_of(spec_document(300)), matching_inventory(desired_of(spec_document(0))))


def test_route_impact_is_capped_at_50_rows_unless_all_are_asked_for(first_apply):
    assert len(first_apply.route_changes) == 600
    impact = TextRenderer().render(first_apply).split("Route impact (inbound calls):\n")[1].split("\n\n")[0]
    assert len(impact.splitlines()) == 51 and impact.splitlines()[-1] == "  … and 550 more; --impact all"
    everything = TextRenderer(impact_rows=None).render(first_apply)
    assert "--impact all" not in everything and trunk_numbers(299)[-1] in everything.split("Route impact")[1]
    doc = json.loads(JsonRenderer().render(first_apply))
    assert (len(doc["route_impact"]), doc["route_impact_omitted"]) == (50, 550)
    md = MarkdownRenderer(limit=10**7).render(first_apply)
    assert md.count("\n| +1510") == 50 and "… and 550 more; `--impact all`" in md


def test_markdown_past_githubs_limit_says_so_and_names_the_out_file(first_apply):
    full = MarkdownRenderer(limit=10**7).render(first_apply)
    assert len(full) > COMMENT_LIMIT
    md = MarkdownRenderer(out="plan.json").render(first_apply)
    assert len(md) <= COMMENT_LIMIT
    assert md.endswith(
        f"> **This plan is cut short:** all of it is {len(full):,} characters, over GitHub's 65,536-character"
        " comment limit. The whole plan is in `plan.json`: `sipconf show plan.json --impact all` shows all of it.\n"
    )
    assert md.count("```") == 2  # the diff block is closed before the note
    assert "Save the whole plan with `sipconf plan --out FILE`." in MarkdownRenderer().render(first_apply)
