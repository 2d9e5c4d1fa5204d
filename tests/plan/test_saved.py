"""Saved plans hold secret references and keyed fingerprints, never values; `load` reads the
literals again from the spec and refuses a plan it cannot vouch for."""

from __future__ import annotations

import json

import pytest

from sipconf.errors import UserError
from sipconf.livekit.target import Target
from sipconf.plan.plan import make_plan
from sipconf.plan.saved import load, save
from sipconf.spec import load as load_spec
from tests.plan.helpers import inventory

SECRET = "saved-plan-secret-long-enough-for-hs256-0123456"
TARGET = Target("http://127.0.0.1:7880", "k", SECRET)
SPEC = """\
version: 1
project: acme
trunks:
  telnyx:
    inbound:
      numbers: ["+14155550100"]
      auth: {username: u, password: literal-password-1}
dispatch_rules:
  all-hands:
    trunks: [telnyx]
    direct: {room: all-hands, pin: "4321"}
  board:
    trunks: [telnyx]
    direct: {room: board, pin: {env: BOARD_PIN}}
"""
ENV = {"BOARD_PIN": "9876"}


@pytest.fixture
def saved(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    desired = load_spec(spec, allow_literal_secrets=True)
    plan = make_plan(desired, inventory(), url=TARGET.url, key=SECRET, environ=ENV)
    path = tmp_path / "plan.json"
    save(plan, path, key=SECRET)
    return spec, path


def test_the_file_holds_references_and_fingerprints_only(saved):
    _spec, path = saved
    text = path.read_text()
    assert "4321" not in text and "9876" not in text and "literal-password-1" not in text
    secrets = {o["name"]: o["secrets"] for o in json.loads(text)["desired"]["objects"]}
    assert secrets["board"] == {"rule.dispatch_rule_direct.pin": {"env": "BOARD_PIN", "file": None, "literal_fingerprint": None}}
    assert len(secrets["all-hands"]["rule.dispatch_rule_direct.pin"]["literal_fingerprint"]) == 8
    assert len(secrets["telnyx"]["auth_password"]["literal_fingerprint"]) == 8


def test_load_reads_the_literals_again_from_the_spec(saved):
    _spec, path = saved
    desired = load(path, TARGET).desired
    assert desired.find("dispatch_rule", "all-hands").secrets["rule.dispatch_rule_direct.pin"].resolve() == "4321"
    assert desired.find("inbound_trunk", "telnyx").secrets["auth_password"].resolve() == "literal-password-1"
    assert desired.find("dispatch_rule", "board").secrets["rule.dispatch_rule_direct.pin"].resolve(ENV) == "9876"


def test_a_literal_that_became_a_reference_is_refused(saved):
    spec, path = saved
    spec.write_text(SPEC.replace("password: literal-password-1", "password: {env: TELNYX_PASSWORD}"))
    with pytest.raises(UserError) as err:
        load(path, TARGET)
    assert err.value.lines == (
        f"{spec}:5:5: the password of inbound trunk 'telnyx' is no longer written in the spec, but {path} was"
        " planned with it; make the plan again with `sipconf plan --out`",
    )


def test_a_plan_for_another_url_is_refused(saved):
    _spec, path = saved
    with pytest.raises(UserError) as err:
        load(path, Target("http://127.0.0.1:9", "k", SECRET))
    assert err.value.lines == (f"{path} was planned against {TARGET.url}, not http://127.0.0.1:9",)


def test_a_plan_saved_by_an_older_sipconf_with_values_in_it_is_refused(saved):
    _spec, path = saved
    doc = json.loads(path.read_text())
    del doc["desired"]["source_path"], doc["desired"]["key_fingerprint"]
    for obj in doc["desired"]["objects"]:
        for ref in obj["secrets"].values():
            ref["literal"] = ref.pop("literal_fingerprint")
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError) as err:
        load(path, TARGET)
    assert err.value.lines == (
        f"{path}: this plan was saved by an older sipconf that wrote secret values into the file;"
        " delete it and make the plan again with `sipconf plan --out`",
    )
