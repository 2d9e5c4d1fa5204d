"""One load call through the scripted agent against a real `sipconf up`: its outcome is what
Locust records (status, setup time, and the reason when it failed)."""

from __future__ import annotations

import asyncio
import dataclasses

from simulator.bridge_counts import scrape
from simulator.locust.calls import place
from simulator.locust.plan import load_calls
from simulator.ports import free_port

from tests.simulator.conftest import LOAD

CALLS = {c.name: c for c in load_calls([str(LOAD)], environ={})[0]}


def test_each_load_call_reaches_its_expected_status(bridge):
    before = scrape(bridge.url)
    outcomes = [asyncio.run(place(call, bridge.sip)) for call in CALLS.values()]
    assert [(o.name, o.ok, o.status, o.reason) for o in outcomes] == [
        ("front desk", True, 200, None),
        ("sales with digest auth", True, 200, None),
        ("number without a rule", True, 404, None),
    ]
    assert all(o.setup_ms > 0 for o in outcomes)
    counted = scrape(bridge.url).since(before)
    assert counted.statuses == {"200": 2, "404": 1, "407": 1} and counted.challenges == 1 and counted.calls == 3


def test_a_worker_source_address_replaces_the_scenarios(bridge):
    outcome = asyncio.run(place(CALLS["front desk"], bridge.sip, source="127.0.1.77"))
    assert (outcome.ok, outcome.status) == (True, 200)


def test_an_unexpected_status_fails_with_the_reason(bridge):
    wrong = dataclasses.replace(CALLS["number without a rule"], expect=200)
    outcome = asyncio.run(place(wrong, bridge.sip))
    assert (outcome.ok, outcome.status, outcome.reason) == (False, 404, "got 404 Does not match Trunks or Dispatch Rules, expected 200")


def test_a_wrong_password_fails_as_the_bridge_answers_it(bridge):
    wrong = dataclasses.replace(CALLS["sales with digest auth"], credentials=("acme-telnyx", "not-the-password"))
    outcome = asyncio.run(place(wrong, bridge.sip))
    assert (outcome.ok, outcome.status) == (False, 401)
    assert outcome.reason == "got 401 Unauthorized, expected 200"
    assert "not-the-password" not in repr(outcome)


def test_no_final_response_fails_after_the_timeout(bridge):
    # Nothing answers on this port: the call waits for its timeout, then says so.
    outcome = asyncio.run(place(CALLS["front desk"], ("127.0.0.1", free_port()), timeout=0.3))
    assert (outcome.ok, outcome.status, outcome.reason) == (False, None, "no final response within 0.3s")


def test_a_refused_connection_fails_with_the_reason(bridge):
    tcp = dataclasses.replace(CALLS["front desk"], transport="tcp")
    outcome = asyncio.run(place(tcp, ("127.0.0.1", free_port())))  # nothing listens: refused
    assert (outcome.ok, outcome.status) == (False, None)
    assert outcome.reason == "cannot place the call from 127.0.1.1: Connection refused"
