"""docs/routing.md quotes `sipconf explain` word for word: every sentence in its rule-order
table is one the order module gives for a pair of rules of that step."""

from __future__ import annotations

from pathlib import Path

from sipconf.routing.order import beats
from tests.routing.test_order import STEPS

ROUTING = Path(__file__).resolve().parents[2] / "docs" / "routing.md"


def _table_sentences() -> list[str]:
    text = ROUTING.read_text(encoding="utf-8")
    table = text.split("## Rule order", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    return [row.strip("| ").rsplit(" | ", 1)[1] for row in rows]


def test_every_step_of_the_table_is_what_explain_says():
    sentences = _table_sentences()
    assert len(sentences) == 6
    said = {beats(winner, loser, "ST_main") for winner, loser, _reason in STEPS}
    assert [s for s in sentences if s not in said] == []
