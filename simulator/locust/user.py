"""The Locust user that places the calls of a scenario file, its options and its listeners.

Each user places one call after another, going round the file's inbound scenarios (each
user starts at a different one), paced at `--sip-rate` calls/s: N users ask for about N x
rate calls/s in all. Every call is one Locust request: type `SIP`, name the scenario's name,
response time its setup time (INVITE to final response, digest challenge included), a
failure when the expected final status did not come, with the reason.

Worker number k (1 for the first; Locust's worker index + 1, and 1 for a run without a
master) calls from `--sip-source` with `{worker}` replaced by k, so each worker has an
address of its own; every call binds ports the kernel picks. Without `--sip-source` each
call comes from its scenario's `source`. Locust hands each worker the master's options; a
worker's own `--sip-source` (its interface address, on another host) wins over the master's,
and `--sip-allow-external` given to either lets the worker call a bridge off loopback.

Each worker reports its calls to the master beside Locust's stats (`tally`); when the test
stops, every worker finishes its calls and sends its last report before the master writes
its totals (`final_report`). At the end the master (or a local run) logs the calls per worker
and writes the chart and its JSON beside the CSV files (`--csv PREFIX` -> PREFIX_chart.html
and PREFIX_chart.json).
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
from pathlib import Path

import gevent
from locust import User, constant_throughput, events, task
from locust.exception import StopUser
from locust.runners import WorkerRunner

from sipconf.errors import UserError
from simulator.locust.calls import BYE_TIMEOUT, CallOutcome, place
from simulator.locust.final_report import install as install_final_report
from simulator.locust.final_report import write_final_csv
from simulator.locust.loop_thread import LoopThread
from simulator.locust.plan import LoadCall, check_reach, load_calls, parse_target, worker_source
from simulator.locust.tally import Tally
from simulator.reports.load_chart import write as write_chart

__all__ = ["CallFailed", "ScenarioCaller"]

log = logging.getLogger("sipconf.locust")
TALLY_KEY = "sipconf"  # our part of a worker's report to the master
HAND_OFF_SLACK = 10.0  # seconds beyond a call's own timeouts before its greenlet gives up on it


class CallFailed(Exception):
    """A call that did not reach its expected final status; the text is the reason."""


@events.init_command_line_parser.add_listener
def add_options(parser) -> None:
    parser.add_argument("--sip-scenarios", metavar="PATH", default="", env_var="SIPCONF_LOCUST_SCENARIOS",
                        help="scenario file or folder whose inbound calls are placed (the same path on every host)")
    parser.add_argument("--sip-select", metavar="EXPR", default="",
                        help="only scenarios whose name or tags match, as `sipconf test -k`")
    parser.add_argument("--sip-source", metavar="ADDRESS", default="",
                        help="each worker's source address, {worker} = its number from 1 (e.g. 127.0.1.{worker}); "
                             "default: each scenario's own source")
    parser.add_argument("--sip-allow-external", action="store_true", default=False,
                        help="let the agent call IP addresses off loopback (a bridge on another host); "
                             "default: loopback only")
    parser.add_argument("--sip-rate", metavar="CPS", type=float, default=1.0,
                        help="calls per second each user places (default 1)")
    parser.add_argument("--sip-timeout", metavar="S", type=float, default=8.0,
                        help="seconds a call waits for its final response (default 8)")
    parser.add_argument("--sip-chart", metavar="STEM", default="",
                        help="write STEM.html and STEM.json (default: PREFIX_chart beside --csv PREFIX)")


class _Node:
    """This process's share of the run: its calls, its asyncio loop thread, its tally."""

    def __init__(self) -> None:
        self.tally = Tally()
        self.worker = 1  # this process's worker number, known once its first user starts
        # What this worker's own command line said, before the master's options replace them.
        self.own_source = ""
        self.own_allow_external = False
        self.announced = False  # the worker logged where it calls from
        self._calls: list[LoadCall] | None = None
        self._loops: LoopThread | None = None

    def calls(self, options) -> list[LoadCall]:
        if self._calls is None:
            self._calls, left_out = load_calls([options.sip_scenarios], options.sip_select or None)
            for line in left_out:
                log.info(line)
        return self._calls

    def loops(self) -> LoopThread:
        if self._loops is None:
            self._loops = LoopThread()
        return self._loops

    def close(self) -> None:
        if self._loops is not None:
            self._loops.close()


NODE = _Node()


def worker_number(runner) -> int:
    return runner.worker_index + 1 if isinstance(runner, WorkerRunner) else 1


@events.init.add_listener
def check_options(environment, **_) -> None:
    """Fail fast on the master (or a local run): a wrong path or target is one line each, exit 1."""
    options = environment.parsed_options
    if options is None:
        return
    install_final_report(environment)
    if isinstance(environment.runner, WorkerRunner):
        NODE.own_source, NODE.own_allow_external = options.sip_source, options.sip_allow_external
        return
    try:
        if not options.sip_scenarios:
            raise UserError("--sip-scenarios PATH is required: the scenario file or folder whose calls are placed")
        NODE.calls(options)
        parse_target(environment.host, allow_external=options.sip_allow_external)
        if options.sip_source:
            worker_source(options.sip_source, 1, options.sip_allow_external)
        if options.sip_rate <= 0 or options.sip_timeout <= 0:
            raise UserError("--sip-rate and --sip-timeout must be positive")
    except UserError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(1) from None


@events.report_to_master.add_listener
def report_calls(client_id, data) -> None:
    data[TALLY_KEY] = NODE.tally.take(NODE.worker)


@events.worker_report.add_listener
def collect_calls(client_id, data) -> None:
    if TALLY_KEY in data:
        NODE.tally.merge(data[TALLY_KEY])


@events.test_stop.add_listener
def log_calls(environment, **_) -> None:
    if isinstance(environment.runner, WorkerRunner):
        placed = sum(NODE.tally.by_worker.values())
        log.info("worker %d placed %d calls", NODE.worker, placed)


@events.quitting.add_listener
def write_results(environment, **_) -> None:
    NODE.close()
    if isinstance(environment.runner, WorkerRunner):
        return
    log.info(NODE.tally.line())
    options = environment.parsed_options
    if options.csv_prefix:  # Locust's own writer refreshes them only once a second
        write_final_csv(environment, options.csv_prefix)
    stem = options.sip_chart or (f"{options.csv_prefix}_chart" if options.csv_prefix else "")
    if not stem:
        return
    notes = [f"locust: {options.num_users} users asked for, {options.sip_rate:g} calls/s each, "
             f"scenarios {options.sip_scenarios}",
             NODE.tally.line(),
             "setup time: INVITE to the final response, digest challenge included, of the calls that succeeded"]
    _, page = write_chart(Path(stem), NODE.tally.timeline, "sipconf calls under Locust", notes)
    log.info("chart: %s", page)


class ScenarioCaller(User):
    """Places the inbound calls of `--sip-scenarios` at `--host` (the bridge's SIP address)."""

    _started = itertools.count()  # users started in this process: each begins at another scenario

    def on_start(self) -> None:
        options = self.environment.parsed_options
        try:
            self.calls = NODE.calls(options)
            self.allow_external = NODE.own_allow_external or options.sip_allow_external
            self.target = parse_target(self.environment.host, allow_external=self.allow_external)
            self.worker = NODE.worker = worker_number(self.environment.runner)
            template = NODE.own_source or options.sip_source
            self.source = worker_source(template, self.worker, self.allow_external) if template else None
            check_reach(self.target, self.source)
        except UserError as err:
            for line in err.lines:
                log.error(line)
            raise StopUser() from None
        if not NODE.announced:
            NODE.announced = True
            log.info("worker %d calls %s:%d from %s%s", self.worker, *self.target,
                     self.source or "each scenario's own source",
                     " (addresses off loopback allowed)" if self.allow_external else "")
        self.timeout = options.sip_timeout
        self.turn = next(self._started)
        self._pace = constant_throughput(options.sip_rate)

    def wait_time(self) -> float:
        return self._pace(self)

    @task
    def place_call(self) -> None:
        call = self.calls[self.turn % len(self.calls)]
        self.turn += 1
        limit = self.timeout + BYE_TIMEOUT + HAND_OFF_SLACK
        try:
            outcome = NODE.loops().run(place(call, self.target, self.source, self.timeout, self.allow_external), timeout=limit)
        except gevent.Timeout:
            outcome = CallOutcome(call.name, limit * 1000, False, None, f"no outcome within {limit:g}s")
        self.environment.events.request.fire(
            request_type="SIP", name=outcome.name, response_time=outcome.setup_ms, response_length=0,
            exception=None if outcome.ok else CallFailed(outcome.reason), context={"status": outcome.status})
        NODE.tally.record(outcome, time.time(), self.worker)
