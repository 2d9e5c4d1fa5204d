"""Every worker's last calls reach the master's totals before the master writes them.

When a headless distributed run ends (`-t`), Locust's master sends each worker `quit`, waits
half a second and stops listening. A worker first lets its users finish the call in progress
(up to `--stop-timeout`) and only then sends its last stats. Workers report every 3 s, so
when that takes more than half a second (a loaded machine, a slow call) the calls since the
previous report never reach the master: the bridge answered them, the CSV lacks them. And
Locust refreshes the CSV files once a second, so its last refresh can still come before the
last report.

So when the master stops the test (`test_stop`, before it tells the workers to quit), it asks
each worker to finish: the worker stops its users (each one finishes its call, as
`--stop-timeout` allows), sends its last stats, then says it is done; the master waits for
every worker's word, up to `--stop-timeout` plus FINISH_SLACK seconds. Messages from one
worker arrive in order, so its last stats are counted before its word. As it quits, the
master writes the stats, failures and exceptions CSV files once more, from its final totals.
"""

from __future__ import annotations

import csv
import logging

import gevent
from gevent.event import Event
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

__all__ = ["FINISH_SLACK", "install", "write_final_csv"]

log = logging.getLogger("sipconf.locust")
FINISH = "sipconf_finish"  # master -> worker: stop your users and send your last stats
FINISHED = "sipconf_finished"  # worker -> master: my last stats are sent
FINISH_SLACK = 30.0  # seconds beyond --stop-timeout a master waits for its workers' last stats


class _LastReports:
    """The master's side: which workers still owe their last stats."""

    def __init__(self) -> None:
        self.owing: set[str] = set()
        self.all_in = Event()

    def collect(self, environment, **_) -> None:
        runner = environment.runner
        if gevent.getcurrent() in runner.greenlet:
            return  # stopping inside the greenlet that receives the workers' messages: it cannot wait for them
        self.owing = {c.id for c in runner.clients.all if c.state in (STATE_RUNNING, STATE_SPAWNING)}
        if not self.owing:
            return
        self.all_in.clear()
        for worker in sorted(self.owing):
            runner.send_message(FINISH, None, client_id=worker)
        limit = (environment.stop_timeout or 0.0) + FINISH_SLACK
        if not self.all_in.wait(timeout=limit):
            log.warning("%d worker(s) sent no last stats within %gs: their last calls are missing from the totals",
                        len(self.owing), limit)

    def finished(self, environment, msg, **_) -> None:
        self.owing.discard(msg.node_id)
        if not self.owing:
            self.all_in.set()


def _finish(environment, msg, **_) -> None:
    """The worker's side: its users finish their calls, then its last stats go to the master."""
    runner = environment.runner
    runner.stop()
    data: dict = {}
    environment.events.report_to_master.fire(client_id=runner.client_id, data=data)
    runner.send_message("stats", data)
    runner.send_message(FINISHED)


def install(environment) -> None:
    """Register both sides' messages on this process's runner (nothing for a local run)."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        reports = _LastReports()
        runner.register_message(FINISHED, reports.finished)
        environment.events.test_stop.add_listener(reports.collect)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(FINISH, _finish)


def write_final_csv(environment, prefix: str) -> None:
    """Write PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv from the totals
    as they are now, in Locust's own format (Locust's writer, if it writes again, writes the same)."""
    table = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (("_stats.csv", table.requests_csv), ("_failures.csv", table.failures_csv),
                          ("_exceptions.csv", table.exceptions_csv)):
        with open(prefix + suffix, "w") as f:
            write(csv.writer(f))
