"""`sipconf schema` describes exactly what the loader accepts.

Every spec the loader accepts (the demo, the good specs written inline in tests, the corpus
files that fail only later checks) validates against the printed schema; every corpus file the
loader refuses for its shape (unknown key, wrong type, two rule kinds...) is refused by the
schema too. The validator is the small one in tests/json_schema.py, which refuses keywords it
does not know, so the schema cannot say more than this test checks.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sipconf.spec import SpecError, json_schema, loads
from sipconf.spec.yamlsrc import load_yaml
from tests.json_schema import errors

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo" / "spec.yaml"
# Loader codes for a document's shape, which the schema must refuse as well. (Numbers, CIDRs,
# secrets that are not set and LiveKit's rules are values the schema leaves to the loader.)
SHAPE_CODES = {
    "unknown-key", "missing-key", "invalid-value", "rule-kind", "empty-trunk", "invalid-name",
    "invalid-pin", "invalid-duration", "invalid-secret", "unsupported-version", "invalid-spec", "no-rule-priority",
}
NOT_A_DOCUMENT = {"yaml-syntax", "duplicate-key"}  # no data for a schema to judge


def _inline_specs() -> list[tuple[str, str]]:
    """Every string literal in tests/ that is a whole spec (starts with `version: 1`)."""
    out = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        templates = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in templates:
                if node.value.startswith("version: 1\n") and "project:" in node.value:
                    out.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return out


def _corpus() -> list[tuple[str, str]]:
    return [
        (str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "tests").rglob("bad/*.yaml"))
    ]


def _loader_codes(text: str) -> set[str] | None:
    """The codes the loader reports (None: it accepts the spec; literal secrets allowed, since
    the schema is the same with or without --allow-literal-secrets)."""
    try:
        loads(text, "spec.yaml", allow_literal_secrets=True)
    except SpecError as err:
        return {i.code for i in err.issues}
    return None


def _schema_errors(text: str) -> list[str]:
    data, _, issues = load_yaml(text, "spec.yaml")
    assert not issues
    return errors(json_schema(), data)


GOOD = [("scenarios/demo/spec.yaml", DEMO.read_text(encoding="utf-8"))] + _inline_specs()
CODES = {n: _loader_codes(t) for n, t in GOOD + _corpus()}
ACCEPTED = [(n, t) for n, t in GOOD + _corpus() if not (CODES[n] or set()) & (SHAPE_CODES | NOT_A_DOCUMENT)]
SHAPE_BROKEN = [(n, t) for n, t in _corpus() if CODES[n] and CODES[n] & SHAPE_CODES and not CODES[n] & NOT_A_DOCUMENT]


def test_printed_schema_is_the_json_schema():
    run = subprocess.run([sys.executable, "-m", "sipconf", "schema"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert json.loads(run.stdout) == json_schema()


def test_demo_spec_uses_codec_shorthand_and_validates():
    assert "codecs: [PCMU, PCMA]" in DEMO.read_text(encoding="utf-8")
    assert _schema_errors(DEMO.read_text(encoding="utf-8")) == []


def test_there_are_good_specs_to_check():
    assert len(GOOD) >= 5 and CODES["scenarios/demo/spec.yaml"] is None
    assert len(SHAPE_BROKEN) >= 15


@pytest.mark.parametrize("name,text", ACCEPTED, ids=[n for n, _ in ACCEPTED])
def test_schema_accepts_what_the_loader_accepts(name, text):
    assert _schema_errors(text) == []


@pytest.mark.parametrize("name,text", SHAPE_BROKEN, ids=[n for n, _ in SHAPE_BROKEN])
def test_schema_refuses_what_the_loader_refuses_for_its_shape(name, text):
    assert _schema_errors(text) != []


@pytest.mark.parametrize(
    "codecs",
    ["[PCMU, PCMA]", "[{name: opus, rate: 48000}]", "[PCMU, {name: G722}]"],
)
def test_codec_name_and_mapping_forms(codecs):
    text = f"version: 1\nproject: a\ntrunks:\n  t:\n    inbound:\n      numbers: ['+1']\n      media: {{codecs: {codecs}}}\n"
    assert _loader_codes(text) is None
    assert _schema_errors(text) == []


@pytest.mark.parametrize(
    "fragment",
    [
        "media: {codecs: [1]}",
        "media: {codecs: [{rate: 8000}]}",
        "media: {codecs: [{name: opus, rate: -1}]}",
        "media: {timeout: 5}",
        "auth: {username: u, password: {env: '1BAD'}}",
        "auth: {username: u, password: {file: ''}}",
    ],
)
def test_schema_and_loader_refuse_the_same_fields(fragment):
    text = f"version: 1\nproject: a\ntrunks:\n  t:\n    inbound:\n      numbers: ['+1']\n      {fragment}\n"
    assert _loader_codes(text) & SHAPE_CODES
    assert _schema_errors(text) != []


def test_schema_refuses_bad_names_and_pins_and_rule_kinds():
    base = "version: 1\nproject: a\ndispatch_rules:\n"
    for body in ("  -bad:\n    direct: {room: r}\n", "  r:\n    direct: {room: r, pin: '12a'}\n",
                 "  r:\n    direct: {room: r}\n    callee: {}\n", "  r:\n    trunks: [t]\n"):
        assert _loader_codes(base + body) & SHAPE_CODES, body
        assert _schema_errors(base + body) != [], body
    # An explicit null kind is absent to the loader, and to the schema.
    body = "  r:\n    direct: null\n    callee: {}\n"
    assert _loader_codes(base + body) is None
    assert _schema_errors(base + body) == []
