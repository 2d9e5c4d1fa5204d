"""What a Locust run counts beside Locust's own stats: calls per worker and the per-second
timeline the chart is drawn from. No locust here: the user module feeds it.

A worker records each call and, every time Locust reports to the master, hands over what it
counted since the last report (`take`); the master adds the reports up (`merge`). A local
run (no master) records into the same tally it charts from.
"""

from __future__ import annotations

from simulator.locust.calls import CallOutcome
from simulator.reports.load_chart import Timeline

__all__ = ["Tally"]


class Tally:
    def __init__(self) -> None:
        self.timeline = Timeline()
        self.by_worker: dict[int, int] = {}  # worker number -> calls placed
        self.unreported = 0

    def record(self, outcome: CallOutcome, at: float, worker: int) -> None:
        self.timeline.add(at, outcome.setup_ms, outcome.ok)
        self.by_worker[worker] = self.by_worker.get(worker, 0) + 1
        self.unreported += 1

    def take(self, worker: int) -> dict:
        """What this worker counted since its last report (then forgotten here: the master keeps it)."""
        data = {"worker": worker, "calls": self.unreported, "timeline": self.timeline.to_wire()}
        self.unreported = 0
        self.timeline.clear()
        return data

    def merge(self, data: dict) -> None:
        worker = int(data["worker"])
        self.by_worker[worker] = self.by_worker.get(worker, 0) + int(data["calls"])
        self.timeline.merge(data["timeline"])

    def line(self) -> str:
        """`calls by worker: 1: 40, 2: 39`"""
        return "calls by worker: " + (", ".join(f"{w}: {n}" for w, n in sorted(self.by_worker.items())) or "none")
