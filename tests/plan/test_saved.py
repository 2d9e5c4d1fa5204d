"""Saved plans hold secret references and one keyed checksum of all secrets, never values nor a
digest of one PIN; `load` reads the literals again from the spec and refuses a plan it cannot
vouch for."""

from __future__ import annotations

import json

import pytest

from sipconf.errors import UserError
from sipconf.livekit.target import Target
from sipconf.plan.changes import fingerprint
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


def test_the_file_holds_references_and_one_secrets_checksum_only(saved):
    _spec, path = saved
    text = path.read_text()
    assert "4321" not in text and "9876" not in text and "literal-password-1" not in text
    for pin in ("4321", "9876"):
        assert fingerprint(SECRET, pin) not in text  # nothing a PIN can be recovered from
    doc = json.loads(text)
    secrets = {o["name"]: o["secrets"] for o in doc["desired"]["objects"]}
    assert secrets["board"] == {"rule.dispatch_rule_direct.pin": {"env": "BOARD_PIN", "file": None, "in_spec": False}}
    assert secrets["all-hands"]["rule.dispatch_rule_direct.pin"] == {"env": None, "file": None, "in_spec": True}
    assert secrets["telnyx"]["auth_password"] == {"env": None, "file": None, "in_spec": True}
    assert doc["desired"]["secrets_checksum"].startswith("hmac-sha256:") and len(doc["desired"]["secrets_checksum"]) == 76


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


def test_a_plan_of_format_1_is_refused_in_one_line_saying_to_plan_again(saved):
    _spec, path = saved
    doc = json.loads(path.read_text())
    doc["format_version"] = 1
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError) as err:
        load(path, TARGET)
    assert err.value.lines == (
        f"{path} is a plan of format 1, which this sipconf does not apply (it writes format 2);"
        f" run `sipconf plan --out {path}` again",
    )


def test_a_loaded_plan_carries_the_secrets_checksum_and_every_route_row(saved):
    _spec, path = saved
    doc = json.loads(path.read_text())
    plan = load(path, TARGET)
    assert plan.secrets_checksum == doc["desired"]["secrets_checksum"]
    assert doc["route_impact_omitted"] == 0 and len(plan.route_changes) == len(doc["route_impact"])
