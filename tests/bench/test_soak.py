"""The soak (bench/soak.py): a short run of the real thing, `sipconf up` as a subprocess under
SIPp's `uac` load, with every check of `make soak`; and the checks themselves, fed figures that
must fail them (a leak must not pass unnoticed)."""

from __future__ import annotations

import json
import subprocess
import sys

from bench import soak
from bench.sippload import LoadResult

from .conftest import ROOT

RATE, SECONDS = 20, 5


def test_a_short_soak_leaves_nothing_behind(tmp_path):
    figures_path = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, "-m", "bench.soak", "--rate", str(RATE), "--seconds", str(SECONDS),
                          "--json", str(figures_path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "ok: every check passed"
    figures = json.loads(figures_path.read_text())
    calls = RATE * SECONDS
    assert figures["failures"] == []
    assert (figures["placed"], figures["completed"], figures["failed"]) == (calls, calls, 0)
    assert figures["answered"] == figures["joined"] == figures["left"] == calls
    assert figures["rooms_created"] == figures["rooms_closed"] == calls  # one room per caller, all closed
    assert figures["other_finals"] == {}
    assert set(figures["live_after"].values()) == {0}
    assert figures["fds_end"] <= figures["fds_warm"] and figures["fds_new"] == []
    assert figures["tasks_end"] <= figures["tasks_warm"]


def _snapshot(rss_kb: int, fds: dict[str, str], tasks: int, **metrics: float) -> soak.Snapshot:
    samples = {
        'sipconf_sip_calls_total{direction="inbound",status="200"}': metrics.get("answered", 0),
        "sipconf_participants_joined_total": metrics.get("joined", 0),
        "sipconf_participants_left_total": metrics.get("left", 0),
        "sipconf_rooms_created_total": metrics.get("created", 0),
        'sipconf_rooms_closed_total{reason="departure_timeout"}': metrics.get("closed", 0),
        "sipconf_rooms": metrics.get("rooms", 0),
        "sipconf_participants": 0, "sipconf_sip_calls_in_progress": 0, "sipconf_sip_transactions": 0,
    }
    if "busy" in metrics:
        samples['sipconf_sip_calls_total{direction="inbound",status="503"}'] = metrics["busy"]
    return soak.Snapshot(rss_kb, fds, tasks, samples)


def _judge(load: LoadResult, warm: soak.Snapshot, end: soak.Snapshot, room_per_call: bool = True) -> soak.Figures:
    return soak.judge(10, 1, 1, 2, load, warm, end, settled_seconds=3, rss_growth=0.10, room_per_call=room_per_call)


FDS = {"3": "anon_inode:[eventpoll]", "4": "udp 127.0.0.1:5060"}


def test_a_clean_run_passes_every_check():
    warm = _snapshot(50_000, FDS, 3)
    end = _snapshot(54_000, FDS, 3, answered=10, joined=10, left=10, created=10, closed=10)
    figures = _judge(LoadResult(10, 1.0, 10, 0, 10.0, 0), warm, end)
    assert figures.failures == []
    assert soak.report(figures)[-1] == "ok: every check passed"


def test_leaks_and_failed_calls_fail_their_checks():
    warm = _snapshot(50_000, FDS, 3)
    leaked = {**FDS, "9": "udp 127.0.0.1:40000"}
    end = _snapshot(60_000, leaked, 5, answered=9, joined=9, left=8, created=9, closed=8, rooms=1, busy=1)
    figures = _judge(LoadResult(10, 1.0, 9, 1, 9.0, 1), warm, end)
    assert figures.failures == [
        "SIPp counted 1 failed call(s)",
        "SIPp completed 9 of 10 calls placed",
        "the bridge sent other final responses: 1 x 503",
        "participants joined 9, left 8, calls answered 9",
        "rooms created 9, closed 8, calls answered 9 (one room per caller)",
        "still live once settled: rooms 1",
        "RSS grew +20.0%: 50000 kB after the warm-up, 60000 kB at the end (limit 10%)",
        "open descriptors 2 after the warm-up, 3 at the end; new: udp 127.0.0.1:40000",
        "asyncio tasks 3 after the warm-up, 5 at the end",
    ]
    assert [line for line in soak.report(figures) if line.startswith("FAILED: ")] == [
        f"FAILED: {text}" for text in figures.failures]


def test_rooms_shared_by_calls_must_all_close_too():
    """With the benchmark's spec (one room for every call) a room is not a call's: every room
    created must close, whatever the number of calls."""
    warm = _snapshot(50_000, FDS, 3)
    load = LoadResult(10, 1.0, 10, 0, 10.0, 0)
    closed = _snapshot(50_000, FDS, 3, answered=10, joined=10, left=10, created=1, closed=1)
    assert _judge(load, warm, closed, room_per_call=False).failures == []
    still_open = _snapshot(50_000, FDS, 3, answered=10, joined=10, left=10, created=1, closed=0, rooms=1)
    left_open = _judge(load, warm, still_open, room_per_call=False)
    assert left_open.failures == ["rooms created 1, closed 0, calls answered 10", "still live once settled: rooms 1"]
    assert soak.room_per_call(ROOT / "bench" / "soak.yaml") and not soak.room_per_call(ROOT / "bench" / "spec.yaml")


def test_metrics_are_read_as_prometheus_prints_them():
    text = ('# HELP sipconf_rooms Rooms open now.\n# TYPE sipconf_rooms gauge\nsipconf_rooms 2\n'
            'sipconf_sip_calls_total{direction="inbound",status="200"} 7\n'
            'sipconf_sip_calls_total{direction="outbound",status="200"} 3\n')
    metrics = soak.parse_metrics(text)
    assert soak.metric(metrics, "sipconf_rooms") == 2
    assert soak.metric(metrics, "sipconf_sip_calls_total") == 10
    assert soak.metric(metrics, "sipconf_sip_calls_total", direction="inbound") == 7
    assert soak.inbound_finals(metrics) == {"200": 7}


def test_recording_replaces_only_the_soak_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Bridge benchmark\n\ntable\n\n## Soak\n\nold figures\n\n## Later\n\nkept\n")
    warm = _snapshot(50_000, FDS, 3)
    end = _snapshot(50_000, FDS, 3, answered=10, joined=10, left=10, created=10, closed=10)
    soak.record(_judge(LoadResult(10, 1.0, 10, 0, 10.0, 0), warm, end), "python -m bench.soak --rate 10", results)
    text = results.read_text()
    assert text.startswith("# Bridge benchmark\n\ntable\n\n## Soak\n\n`python -m bench.soak --rate 10` (")
    assert "old figures" not in text and "ok: every check passed" in text
    assert text.endswith("```\n\n## Later\n\nkept\n")
