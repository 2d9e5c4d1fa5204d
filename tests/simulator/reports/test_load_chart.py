"""The per-second timeline of a load run and its chart: calls/s and setup-time percentiles."""

from __future__ import annotations

import json
import re

from simulator.reports.load_chart import Second, Timeline, percentile, render_html, write


def timeline() -> Timeline:
    t = Timeline()
    for ms in (10, 20, 30, 40):
        t.add(1000.2, ms, True)
    t.add(1000.9, 500, False)
    t.add(1002.5, 7, True)  # nothing ends in second 1001
    return t


def test_calls_filed_by_the_second_they_ended_in():
    assert timeline().seconds() == [
        Second(0, 4, 1, 20.0, 40.0, 40.0),
        Second(1, 0, 0, None, None, None),
        Second(2, 1, 0, 7.0, 7.0, 7.0),
    ]
    assert timeline().totals() == {"succeeded": 5, "failed": 1, "p50_ms": 20.0, "p95_ms": 40.0, "p99_ms": 40.0}
    assert len(timeline()) == 6
    assert Timeline().seconds() == [] and percentile([], 50) == 0.0


def test_a_worker_hands_its_timeline_to_the_master():
    master = Timeline()
    worker = timeline()
    master.merge(json.loads(json.dumps(worker.to_wire())))  # as it travels
    master.merge(worker.to_wire())
    worker.clear()
    assert len(worker) == 0
    assert [(s.ok, s.failed) for s in master.seconds()] == [(8, 2), (0, 0), (2, 0)]


def test_json_and_a_self_contained_page_side_by_side(tmp_path):
    json_path, html_path = write(tmp_path / "out" / "load", timeline(), "run <1>", ["made by a test & co"])
    assert (json_path.name, html_path.name) == ("load.json", "load.html")
    data = json.loads(json_path.read_text())
    assert data["title"] == "run <1>" and data["notes"] == ["made by a test & co"]
    assert data["seconds"][0] == {"t": 0, "ok": 4, "failed": 1, "p50": 20.0, "p95": 40.0, "p99": 40.0}
    page = html_path.read_text()
    assert "<title>run &lt;1&gt;</title>" in page and "made by a test &amp; co" in page
    assert page.count("<svg") == 2 and page.count("<polyline") == 3  # p50, p95, p99
    assert "4 succeeded" in page and "1 failed" in page
    # Nothing is fetched: no script, no link, no external source; only the SVG namespace names a URL.
    assert not re.search(r"<script|<link|src=|href=|url\(", page)
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}


def test_a_run_with_no_call_still_renders():
    page = render_html("empty", [], Timeline().totals())
    assert "0 calls succeeded, 0 failed over 0 s" in page and page.count("<svg") == 2
