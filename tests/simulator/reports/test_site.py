"""The site a run writes: index.html (summary, scenario table with filters, coverage), a page
and a pcap per call, all of it self-contained."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sipconf.spec import load as load_spec
from simulator.reports.coverage import coverage
from simulator.reports.site import SiteRun, target_text, write_site
from simulator.runner import RunOptions, Runner
from simulator.scenario import load_paths

from tests.simulator.conftest import DEMO


def written(tmp_path: Path) -> tuple[Path, str]:
    outcomes = asyncio.run(Runner(RunOptions(driver="inproc", environ={})).run(
        load_paths([DEMO / "inbound" / "routing.yaml", DEMO / "outbound" / "calls.yaml"])))
    cov = coverage([load_spec(DEMO / "spec.yaml")], outcomes)
    index = write_site(tmp_path / "site", outcomes, cov, SiteRun(12.34, "in process (no bridge)", "2026-12-05 08:00:00 UTC"))
    return index, index.read_text(encoding="utf-8")


def test_the_index_summarises_the_run(tmp_path: Path):
    index, html = written(tmp_path)
    assert index == tmp_path / "site" / "index.html"
    assert re.search(r'id="count-passed">(\d+)<', html).group(1) == str(html.count('<tr data-status="passed">'))
    assert 'id="count-failed">0<' in html and 'id="count-skipped">4<' in html  # outbound: inproc skips them
    assert '<tr data-status="skipped">' in html and 'the inproc driver routes inbound calls only' in html
    assert "<dt>wall time</dt><dd>12.3 s</dd>" in html
    assert "<dt>target</dt><dd>in process (no bridge)</dd><dt>driver</dt><dd>inproc</dd>" in html


def test_every_scenario_is_a_row_with_its_status_duration_tags_and_page(tmp_path: Path):
    index, html = written(tmp_path)
    rows = re.findall(r'<tr data-status="(\w+)"><td><a class="call" href="([^"]+)">', html)
    assert len(rows) == len(load_paths([DEMO / "inbound" / "routing.yaml", DEMO / "outbound" / "calls.yaml"]))
    for _, page in rows:
        assert (index.parent / page).is_file()
        assert (index.parent / page).with_suffix(".pcap").is_file()
    assert '<span class="tag" data-tag="individual">individual</span>' in html
    assert '<option value="failed">failed</option>' in html and '<option value="skipped">skipped</option>' in html
    assert '<option value="individual">individual</option>' in html


def test_coverage_highlights_the_entries_no_scenario_touched(tmp_path: Path):
    _, html = written(tmp_path)
    assert ('<tr class="untouched"><td>dispatch rules</td><td>all-hands</td><td class="touched">no</td></tr>') in html
    assert '<tr class="touched"><td>inbound trunks</td><td>twilio</td><td class="touched">yes</td></tr>' in html
    assert "number range +15105550100..+15105550119 (twilio inbound): 3 of 20 numbers exercised" in html


def test_the_site_fetches_nothing(tmp_path: Path):
    index, _ = written(tmp_path)
    for page in [index, *index.parent.glob("calls/*.html")]:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), page.name
        assert "@import" not in html and "<link" not in html


def test_the_target_is_shown_without_credentials():
    assert target_text("http://key:secret@127.0.0.1:7880/", ("127.0.0.1", 5060), True) == \
        "embedded sipconf up (http://127.0.0.1:7880/, SIP 127.0.0.1:5060)"
    assert target_text("https://lk.example.test", None, False) == "https://lk.example.test"
    assert target_text(None, None, False) == "in process (no bridge)"


def test_skipped_scenarios_are_counted_and_filterable_and_names_are_escaped():
    from simulator.reports.coverage import Coverage
    from simulator.reports.index_page import Row, RunSummary, index_html

    rows = [Row("a.yaml::one", "one", "passed", 1.0, ("x",), "sipp", "calls/one.html"),
            Row("a.yaml::<b>two</b>", "<b>two</b>", "failed", 2.0, ('"q"',), "sipp", "calls/two.html", "rule: expected 'a', got 'b'"),
            Row("a.yaml::three", "three", "skipped", 0.0, (), "inproc", "calls/three.html", "the inproc driver routes inbound calls only")]
    html = index_html(RunSummary(3.0, "t", ("inproc", "sipp"), "now"), rows, Coverage())
    assert 'id="count-passed">1<' in html and 'id="count-failed">1<' in html and 'id="count-skipped">1<' in html
    assert '<tr data-status="skipped">' in html and "<td>the inproc driver routes inbound calls only</td>" in html
    assert "a.yaml::&lt;b&gt;two&lt;/b&gt;" in html and "<b>two" not in html
    assert '<span class="tag" data-tag="&quot;q&quot;">&quot;q&quot;</span>' in html
    assert "<dt>driver</dt><dd>inproc, sipp</dd>" in html
