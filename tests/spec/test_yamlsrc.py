"""YAML through the C composer: the same data and positions as the pure-Python composer."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from bench.gen_spec import spec_text
from sipconf.model import Origin
from sipconf.spec.yamlsrc import Positions, load_yaml

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo" / "spec.yaml"


def _pure_positions(text: str, file: str) -> dict:
    """Every (path -> value origin) the pure-Python round-trip composer gives."""
    out = {}

    def walk(node, path):
        out[path] = Origin(file, node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, MappingNode):
            for key, value in node.value:
                walk(value, path + (key.value,))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    walk(YAML(typ="rt").compose(text), ())
    return out


def test_positions_match_the_pure_composer():
    for text in (DEMO.read_text(encoding="utf-8"), spec_text(200)):
        data, positions, issues = load_yaml(text, "s.yaml")
        assert issues == []
        for path, origin in _pure_positions(text, "s.yaml").items():
            assert positions.value(path) == origin, path


def test_yaml_12_scalars_as_the_round_trip_loader_reads_them():
    data, _, _ = load_yaml("a: yes\nb: 0123\nc: 0o17\nd: ~\ne: 1.5\nf: !!str 12\ng: '7'\n", "s.yaml")
    assert data == {"a": "yes", "b": 123, "c": 15, "d": None, "e": 1.5, "f": "12", "g": "7"}


def test_duplicate_keys_are_found_though_composing_ignores_them():
    _, _, issues = load_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "s.yaml")
    assert [str(i) for i in issues] == [
        "s.yaml:4:3: error: duplicate key 'c' (first defined at s.yaml:3:3) [duplicate-key]",
        "s.yaml:5:1: error: duplicate key 'a' (first defined at s.yaml:1:1) [duplicate-key]",
    ]


def test_syntax_errors_keep_the_pure_composers_words():
    _, _, issues = load_yaml("a: [1, 2\nb: 3\n", "s.yaml")
    assert [str(i) for i in issues] == [
        "s.yaml:2:2: error: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence) [yaml-syntax]"
    ]


def test_subtrees_graft_and_drop():
    _, positions, _ = load_yaml("a:\n  b: 1\nc:\n  d: 2\n", "s.yaml")
    positions.graft(("x",), positions.subtree(("a",)))
    assert positions.value(("x", "b")) == Origin("s.yaml", 2, 6)
    assert positions.key(("x",)) == Origin("s.yaml", 1, 1)
    positions.drop(("a",))
    assert positions.value(("a", "b")) == Origin("s.yaml", 1, 1)  # nothing left: the document
    assert positions.value(("x", "b")) == Origin("s.yaml", 2, 6)  # a copy, not the dropped places
    assert Positions("s.yaml").value(("nowhere",)) == Origin("s.yaml", 1, 1)
