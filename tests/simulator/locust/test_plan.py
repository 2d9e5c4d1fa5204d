"""The calls a Locust run places, where they go, and each worker's source address."""

from __future__ import annotations

import pytest

from sipconf.errors import UserError
from simulator.locust import LOCUSTFILE
from simulator.locust.__main__ import main as print_path
from simulator.locust.plan import check_reach, load_calls, parse_target, worker_source

from tests.simulator.conftest import DEMO, LOAD


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
    ("127.0.0.1:70000", "--host 127.0.0.1:70000: the port must be 1-65535"),
    ("127.0.0.1:0", "--host 127.0.0.1:0: the port must be 1-65535"),
])
def test_bad_targets(host, message):
    with pytest.raises(UserError) as err:
        parse_target(host, {})
    assert err.value.lines == (message,)


@pytest.mark.parametrize("host, expected", [
    ("192.0.2.10:5060", ("192.0.2.10", 5060)),
    ("sip:198.51.100.7", ("198.51.100.7", 5060)),
    ("[2001:db8::5]:5080", ("2001:db8::5", 5080)),
    ("127.0.0.1:5062", ("127.0.0.1", 5062)),
])
def test_the_opt_in_accepts_a_bridge_off_loopback(host, expected):
    assert parse_target(host, {}, allow_external=True) == expected


@pytest.mark.parametrize("host, message", [
    ("sip.example.com:5060", "--host sip.example.com:5060: expected the bridge's SIP address as IP:PORT, e.g. 127.0.0.1:5060"),
    ("192.0.2.10:65536", "--host 192.0.2.10:65536: the port must be 1-65535"),
])
def test_the_opt_in_still_wants_an_ip_and_a_port(host, message):
    with pytest.raises(UserError) as err:
        parse_target(host, {}, allow_external=True)
    assert err.value.lines == (message,)


def test_each_worker_calls_from_its_own_address():
    assert [worker_source("127.0.1.{worker}", k) for k in (1, 2, 3)] == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
    assert worker_source("127.0.0.31", 4) == "127.0.0.31"
    with pytest.raises(UserError) as err:
        worker_source("127.0.1.2{worker}", 60)
    assert err.value.lines == ("--sip-source 127.0.1.2{worker}: worker 60 would call from '127.0.1.260', "
                               "which is not an address in 127.0.0.0/8",)


def test_a_source_off_loopback_needs_the_opt_in():
    with pytest.raises(UserError) as err:
        worker_source("192.0.2.7", 1)
    assert err.value.lines == ("--sip-source 192.0.2.7: worker 1 would call from '192.0.2.7', "
                               "which is not an address in 127.0.0.0/8",)
    assert worker_source("192.0.2.7", 3, allow_external=True) == "192.0.2.7"
    assert worker_source("2001:db8::{worker}", 2, allow_external=True) == "2001:db8::2"
    assert worker_source("127.0.1.{worker}", 2, allow_external=True) == "127.0.1.2"
    with pytest.raises(UserError) as err:
        worker_source("worker-b.example.com", 1, allow_external=True)
    assert err.value.lines == ("--sip-source worker-b.example.com: worker 1 would call from "
                               "'worker-b.example.com', which is not an IP address",)


def test_a_bridge_off_loopback_is_reached_from_the_worker_own_address():
    check_reach(("127.0.0.1", 5060), None)
    check_reach(("127.0.0.1", 5060), "127.0.1.1")
    check_reach(("192.0.2.10", 5060), "192.0.2.7")
    for source in (None, "127.0.1.1"):
        with pytest.raises(UserError) as err:
            check_reach(("192.0.2.10", 5060), source)
        assert err.value.lines == ("--host 192.0.2.10:5060 is off loopback: give --sip-source this worker's "
                                   "own interface address (a loopback source cannot reach it)",)


def test_the_locustfile_path_is_printed(capsys):
    assert print_path([]) == 0 and print_path(["--locustfile-path"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(LOCUSTFILE)] * 2
    assert LOCUSTFILE.is_file()
    assert print_path(["--other"]) == 1
    assert capsys.readouterr().err == "usage: python -m simulator.locust [--locustfile-path]\n"
