"""The markdown plan is valid CommonMark: rendered by a CommonMark parser (markdown-it-py, with
GitHub's tables), every value reads back as written, and nothing a value holds becomes HTML,
emphasis, a table column or the end of a code block."""

from __future__ import annotations

import html
import re
from types import MappingProxyType

from livekit.protocol import sip
from markdown_it import MarkdownIt

from sipconf.model import DesiredObject
from sipconf.plan.plan import make_plan
from sipconf.plan.render.commonmark import cell, code, escape, fence
from sipconf.plan.render.markdown import MarkdownRenderer
from tests.plan.helpers import inbound, inventory, live_rule, live_trunk, origin, state

KEY = "k" * 32
TRICKY = "a|b <b>x</b> `tick` ``` $x$ *y* _z_ [l](u) &amp; @team #1 ~~s~~ \\"


def commonmark() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def text_of(markup: str) -> str:
    """What a reader sees: the HTML's text, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def nurse_rule(name="nurse", prefix="nurse", attributes=None) -> DesiredObject:
    msg = sip.SIPDispatchRuleInfo(sip_dispatch_rule_id=name, name=name, trunk_ids=["twilio"])
    msg.rule.dispatch_rule_individual.room_prefix = prefix
    msg.attributes.update(attributes or {})
    return DesiredObject("dispatch_rule", name, origin(7), msg, MappingProxyType({}))


def tricky_plan():
    """An update whose room pattern and attribute values hold markdown and HTML."""
    live = live_rule("SDR_n", "nurse", ["ST_a"], room="ward")
    inv = inventory(
        [live_trunk("ST_a", "twilio")], [live],
        owned=[("inbound_trunk", "twilio", "ST_a"), ("dispatch_rule", "nurse", "SDR_n")],
    )
    desired = state(inbound("twilio"), nurse_rule(attributes={"note": TRICKY}))
    return make_plan(desired, inv, url="http://127.0.0.1:1", key=KEY)


def test_room_patterns_and_values_survive_a_commonmark_renderer():
    md = MarkdownRenderer().render(tricky_plan())
    rendered = commonmark().render(md)
    seen = text_of(rendered)
    assert "trunk twilio, rule nurse, room nurse_<caller>_<random>" in seen
    assert "trunk twilio, rule nurse, room ward" in seen
    assert f"+   attributes: {{note: '{TRICKY}'}}" in seen  # inside the diff block, as written
    assert "<b>x</b>" not in rendered  # never raw HTML
    assert "<em>" not in rendered and "<a " not in rendered and rendered.count("<strong>") == 1  # the summary


def test_values_never_add_a_table_column_or_html():
    md = MarkdownRenderer().render(tricky_plan())
    tokens = commonmark().parse(md)
    assert [t.type for t in tokens if t.type == "html_inline"] == []
    rows = [i for i, t in enumerate(tokens) if t.type == "tr_open"]
    assert len(rows) == 2  # the header and one row
    cells = [t for t in tokens[rows[1]:] if t.type == "td_open"]
    assert len(cells) == 4


def test_escape_cell_code_and_fence_keep_any_text_literal():
    md = commonmark()
    assert text_of(md.render(escape(TRICKY))).strip() == TRICKY
    table = f"| a |\n|---|\n| {cell(TRICKY)} |\n"
    assert text_of(md.render(table)).split() == ["a", *TRICKY.split()]
    for text in ("``a`b``", "`", " x ", "a ``` b"):
        assert text_of(md.render(code(text))).strip() == text.strip()
    block = fence(["```", "````x", "plain"], "diff")
    assert block[0] == "`````diff" and block[-1] == "`````"
    assert text_of(md.render("\n".join(block) + "\n")).rstrip("\n") == "```\n````x\nplain"


def test_unmanaged_objects_sit_in_a_details_block_and_read_back():
    inv = inventory([live_trunk("ST_b", "twilio", ["+15105550199"])])
    plan = make_plan(state(inbound("twilio", managed=False)), inv, url="http://127.0.0.1:1", key=KEY)
    md = MarkdownRenderer().render(plan)
    seen = text_of(commonmark().render(md))
    assert "trunks.twilio.inbound ST_b: differs (managed: false" in seen
    assert "+ numbers: +15105550100" in seen and "- numbers: +15105550199" in seen
