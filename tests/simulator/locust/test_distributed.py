"""Locust, distributed: a master and 2 workers as processes on 127.0.0.1 place the calls of
scenarios/load against a real `sipconf up` for 10 s, with --stop-timeout so calls in progress
finish. Both workers place calls (each from its own address), and the master's CSV totals
equal the calls the bridge answered by its own /metrics counters, with 0 failures."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from simulator.bridge_counts import scrape
from simulator.locust import LOCUSTFILE
from simulator.ports import free_port

from tests.simulator.conftest import LOAD

USERS, SECONDS = 4, 10


def locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]


def run_distributed(sip: str, tmp_path: Path, seconds: int, master_args: tuple[str, ...],
                    worker_args: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """A master and one worker per `worker_args` entry (its own extra options) as processes on
    127.0.0.1, all exited 0; the log of each, by name."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "LOCUST_"))}
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("master", *worker_args)}
    master = subprocess.Popen(locust(
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", str(len(worker_args)), "--headless", "-u", str(USERS), "-r", str(USERS),
        "-t", f"{seconds}s", "--stop-timeout", "5", "--csv", str(tmp_path / "run"), "--host", sip,
        "--sip-scenarios", str(LOAD), *master_args), stdout=logs["master"], stderr=subprocess.STDOUT,
        env=env, cwd=tmp_path)
    workers = [subprocess.Popen(locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port), *args),
                                stdout=logs[name], stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
               for name, args in worker_args.items()]
    try:
        codes = [p.wait(timeout=seconds + 90) for p in (master, *workers)]
    finally:
        for p in (master, *workers):
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in logs.values():
            log.close()
    text = {name: (tmp_path / f"{name}.log").read_text() for name in logs}
    assert codes == [0] * len(logs), text["master"][-3000:]
    return text


def test_a_master_and_two_workers_place_the_calls_the_bridge_counts(bridge, tmp_path):
    sip = f"{bridge.sip[0]}:{bridge.sip[1]}"
    before = scrape(bridge.url)
    text = run_distributed(sip, tmp_path, SECONDS, ("--sip-source", "127.0.1.{worker}"),
                           {"worker-a": (), "worker-b": ()})
    assert sorted(re.findall(r"worker (\d) calls \S+ from (.+)$", text["worker-a"] + text["worker-b"], re.M)) == [
        ("1", "127.0.1.1"), ("2", "127.0.1.2")]

    # The master's totals: every call a request, none failed.
    with open(tmp_path / "run_stats.csv", newline="") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total, failures = int(rows["Aggregated"]["Request Count"]), int(rows["Aggregated"]["Failure Count"])
    by_name = {name: int(row["Request Count"]) for name, row in rows.items() if name != "Aggregated"}
    assert failures == 0 and total > 0
    assert set(by_name) == {"front desk", "sales with digest auth", "number without a rule"}
    assert all(row["Type"] == "SIP" for name, row in rows.items() if name != "Aggregated")

    # The bridge answered exactly those calls: each digest call is a challenged INVITE and its retry.
    counted = scrape(bridge.url).since(before)
    assert counted.calls == total
    assert counted.statuses == {"200": by_name["front desk"] + by_name["sales with digest auth"],
                                "404": by_name["number without a rule"], "407": by_name["sales with digest auth"]}
    assert counted.challenges == by_name["sales with digest auth"] and counted.shed == 0

    # Both workers placed calls, each as its own worker number (so from its own address).
    placed = dict(re.findall(r"worker (\d+) placed (\d+) calls", text["worker-a"] + text["worker-b"]))
    assert set(placed) == {"1", "2"} and all(int(n) > 0 for n in placed.values())
    assert sum(int(n) for n in placed.values()) == total
    assert f"calls by worker: 1: {placed['1']}, 2: {placed['2']}" in text["master"]

    # The chart and its JSON beside the CSV files.
    data = json.loads((tmp_path / "run_chart.json").read_text())
    assert data["totals"]["succeeded"] == total and data["totals"]["failed"] == 0
    assert "<svg" in (tmp_path / "run_chart.html").read_text()


def test_each_worker_calls_from_the_address_its_own_command_line_names(bridge, tmp_path):
    """As workers on other hosts do (each with its interface's address): a worker's own
    --sip-source wins over the master's, and the opt-in given to the workers alone reaches
    them, though the master's options (without it) are handed to every worker."""
    sip = f"{bridge.sip[0]}:{bridge.sip[1]}"
    text = run_distributed(sip, tmp_path, 4, ("--sip-source", "127.0.1.{worker}"), {
        "worker-a": ("--sip-source", "127.0.1.7", "--sip-allow-external"),
        "worker-b": ("--sip-source", "127.0.1.8", "--sip-allow-external")})
    froms = sorted(re.findall(rf"worker \d calls {re.escape(sip)} from (.+)$", text["worker-a"] + text["worker-b"],
                              re.M))
    assert froms == ["127.0.1.7 (addresses off loopback allowed)", "127.0.1.8 (addresses off loopback allowed)"]
    with open(tmp_path / "run_stats.csv", newline="") as f:
        aggregated = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    assert int(aggregated["Request Count"]) > 0 and int(aggregated["Failure Count"]) == 0


def test_a_missing_scenario_path_is_one_line_and_exit_1(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "LOCUST_"))}
    done = subprocess.run(locust("--headless", "-u", "1", "-t", "1s", "--host", "127.0.0.1:5060",
                                 "--sip-scenarios", str(tmp_path / "missing")),
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == f"error: {tmp_path / 'missing'}: no such file or directory"
    assert "Traceback" not in done.stderr
