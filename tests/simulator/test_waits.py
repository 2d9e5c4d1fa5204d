"""The waits the runner adds so the expectations can be read before the call ends."""

from __future__ import annotations

import pytest

from simulator.scenario.models import Scenario, Wait
from simulator.waits import expected_steps

CALL = {"from": "+16505550111", "to": "+15105550100"}


def steps_of(**fields) -> list | None:
    return expected_steps(Scenario.model_validate({"name": "x", "call": CALL, **fields}))


@pytest.mark.parametrize("expect", [{"trunk": "twilio"}, {"rule": "support"}, {"room": "all-hands"},
                                    {"participant": {"identity": "sip_+1"}},
                                    {"participant": {"attributes": {"team": "support"}}}, {"joined": True}])
def test_a_call_with_no_steps_waits_for_the_participant_its_expectations_read(expect):
    assert steps_of(expect=expect) == [Wait(wait="joined")]


def test_the_wait_goes_after_the_pin_and_before_the_caller_hangs_up():
    got = steps_of(steps=[{"dtmf": "4321#"}, {"hangup": "caller"}], expect={"room": "all-hands"})
    assert [type(s).__name__ for s in got] == ["Dtmf", "Wait", "Hangup"]
    assert got[1] == Wait(wait="joined")


@pytest.mark.parametrize("fields", [
    {"expect": {"status": 200}},  # nothing read from the participant
    {"expect": {"trunk": "twilio", "joined": False}},  # expected never to join
    {"steps": [{"wait": "joined", "timeout": 2}, {"hangup": "caller"}], "expect": {"trunk": "twilio"}},
    {"steps": [{"hangup": "livekit"}], "expect": {"trunk": "twilio"}},  # LiveKit's side ends it: read to remove
    {"steps": [{"remove_participant": True}], "expect": {"rule": "support"}},
])
def test_no_wait_is_added_when_none_is_needed(fields):
    assert steps_of(**fields) is None


def test_an_outbound_call_gets_no_added_wait():
    sc = Scenario.model_validate({"name": "x", "call": {"direction": "outbound", "trunk": "twilio", "to": "+1", "room": "r"},
                                  "expect": {"room": "r"}})
    assert expected_steps(sc) is None
