"""The calls a Locust run places, where they go, and each worker's source address."""

from __future__ import annotations

import pytest

from sipconf.errors import UserError
from simulator.locust import LOCUSTFILE
from simulator.locust.__main__ import main as print_path
from simulator.locust.plan import load_calls, parse_target, worker_source

from tests.simulator.conftest import DEMO, ROOT

LOAD = ROOT / "scenarios" / "load"


def test_the_load_suite_as_calls_with_their_credentials_resolved():
    calls, left_out = load_calls([str(LOAD)], environ={})
    assert [(c.name, c.source, c.to_user, c.expect) for c in calls] == [
        ("front desk", "127.0.1.1", "+15105550110", 200),
        ("sales with digest auth", "127.0.1.1", "+14155550101", 200),
        ("number without a rule", "127.0.1.1", "+15105550111", 404),
    ]
    assert calls[1].credentials == ("acme-telnyx", "demo-telnyx-secret")  # from the suite's env
    assert "demo-telnyx-secret" not in repr(calls[1])
    assert left_out == []


def test_outbound_and_malformed_scenarios_are_left_out_with_a_line_each():
    calls, left_out = load_calls([str(DEMO / "outbound" / "calls.yaml"), str(DEMO / "inbound" / "auth.yaml")],
                                 environ={})
    assert {c.name for c in calls} >= {"auth trunk with the right password"}
    assert left_out and all(line.endswith("not placed (an outbound call needs a far end)") for line in left_out)


def test_a_selection_with_nothing_inbound_is_one_error():
    with pytest.raises(UserError) as err:
        load_calls([str(LOAD)], "nothing-matches", environ={})
    assert err.value.lines == (f"no inbound scenario to place in {LOAD} selected by 'nothing-matches'",)


@pytest.mark.parametrize("host, environ, expected", [
    ("sip:127.0.0.1:5062", {}, ("127.0.0.1", 5062)),
    ("127.0.0.5:5070", {}, ("127.0.0.5", 5070)),
    ("127.0.0.1", {}, ("127.0.0.1", 5060)),
    ("[::1]:5080", {}, ("::1", 5080)),
    (None, {"SIPCONF_SIP": "127.0.0.9:5099"}, ("127.0.0.9", 5099)),
    ("", {}, ("127.0.0.1", 5060)),
])
def test_target_forms(host, environ, expected):
    assert parse_target(host, environ) == expected


@pytest.mark.parametrize("host, message", [
    ("sip.example.com:5060", "--host sip.example.com:5060: expected the bridge's SIP address as IP:PORT, e.g. 127.0.0.1:5060"),
    ("127.0.0.1:http", "--host 127.0.0.1:http: expected the bridge's SIP address as IP:PORT, e.g. 127.0.0.1:5060"),
    ("192.0.2.10:5060", "--host 192.0.2.10:5060: the scripted agent calls loopback addresses only (127.0.0.0/8, ::1)"),
    ("127.0.0.1:70000", "--host 127.0.0.1:70000: the scripted agent calls loopback addresses only (127.0.0.0/8, ::1)"),
])
def test_bad_targets(host, message):
    with pytest.raises(UserError) as err:
        parse_target(host, {})
    assert err.value.lines == (message,)


def test_each_worker_calls_from_its_own_address():
    assert [worker_source("127.0.1.{worker}", k) for k in (1, 2, 3)] == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    assert worker_source("127.0.0.31", 4) == "127.0.0.31"
    with pytest.raises(UserError) as err:
        worker_source("127.0.1.2{worker}", 60)
    assert err.value.lines == ("--sip-source 127.0.1.2{worker}: worker 60 would call from '127.0.1.260', "
                               "which is not an address in 127.0.0.0/8",)


def test_the_locustfile_path_is_printed(capsys):
    assert print_path([]) == 0 and print_path(["--locustfile-path"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(LOCUSTFILE)] * 2
    assert LOCUSTFILE.is_file()
    assert print_path(["--other"]) == 1
    assert capsys.readouterr().err == "usage: python -m simulator.locust [--locustfile-path]\n"
