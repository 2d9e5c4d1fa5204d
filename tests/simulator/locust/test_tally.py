"""What workers send the master beside Locust's stats: calls per worker and the timeline."""

from __future__ import annotations

import json

from simulator.locust.calls import CallOutcome
from simulator.locust.tally import Tally

OK = CallOutcome("front desk", 4.0, True, 200)
FAILED = CallOutcome("front desk", 9.0, False, 404, "got 404 Not Found, expected 200")


def test_workers_report_what_they_counted_since_their_last_report():
    one, two, master = Tally(), Tally(), Tally()
    one.record(OK, 100.1, 1)
    one.record(FAILED, 100.7, 1)
    two.record(OK, 101.2, 2)
    master.merge(json.loads(json.dumps(one.take(1))))  # as it travels
    master.merge(two.take(2))
    one.record(OK, 102.0, 1)
    master.merge(one.take(1))
    master.merge(one.take(1))  # nothing new since
    assert master.by_worker == {1: 3, 2: 1}
    assert master.line() == "calls by worker: 1: 3, 2: 1"
    assert [(s.ok, s.failed) for s in master.timeline.seconds()] == [(1, 1), (1, 0), (1, 0)]
    assert one.by_worker == {1: 3} and len(one.timeline) == 0  # a worker keeps its count, not its timeline


def test_a_run_without_calls():
    assert Tally().line() == "calls by worker: none"
