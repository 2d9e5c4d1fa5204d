"""`make bench`'s chart of the bridge's runs and the Locust sizing section of RESULTS.md:
the SIPp traces of several runs on one timeline, and a section replaced in place."""

from __future__ import annotations

import json

from bench.bridge import write_bridge_chart
from bench.locust_workers import SECTION, write_section
from bench.sippload import LoadResult


def test_runs_one_after_another_on_one_timeline(tmp_path):
    # SIPp's Date_ms counts from its own start; each run starts where the wall clock was.
    first = LoadResult(100, 2.0, 3, 0, 1.5, 0, "Date_ms;response_time_ms;rtd_no\n100;4;1\n600;5;1\n1200;9;1\n",
                       started=1000.0)
    second = LoadResult(200, 1.0, 2, 0, 2.0, 0, "Date_ms;response_time_ms;rtd_no\n300;20;1\n400;30;1\n",
                        started=1002.0)
    page = write_bridge_chart([first, second], tmp_path / "load-chart", 1)
    assert page == tmp_path / "load-chart.html"
    data = json.loads((tmp_path / "load-chart.json").read_text())
    assert [(s["t"], s["ok"], s["p99"]) for s in data["seconds"]] == [(0, 2, 5.0), (1, 1, 9.0), (2, 2, 30.0)]
    assert data["notes"][0].endswith("-sn uac at 100, 200 calls/s, 1 s each, one after another "
                                     "(a pause between rates shows as seconds without calls)")


def test_the_locust_section_is_replaced_and_the_rest_kept(tmp_path):
    out = tmp_path / "RESULTS.md"
    out.write_text("# Bridge benchmark\n\ntop\n\n## Soak\n\nsoak text\n")
    write_section(out, f"{SECTION}\n\nfirst\n")
    assert out.read_text() == f"# Bridge benchmark\n\ntop\n\n## Soak\n\nsoak text\n\n{SECTION}\n\nfirst\n"
    out.write_text(out.read_text() + "\n## Later\n\nkept\n")
    write_section(out, f"{SECTION}\n\nsecond\n")
    assert out.read_text() == (f"# Bridge benchmark\n\ntop\n\n## Soak\n\nsoak text\n\n{SECTION}\n\nsecond\n\n"
                               "## Later\n\nkept\n")
