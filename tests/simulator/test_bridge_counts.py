"""Reading the bridge's counts from `/metrics`: the page `sipconf up` renders, the difference
between two scrapes, and the line that compares them with a load tool's own counts."""

from __future__ import annotations

import pytest

from sipconf.bridge.metrics import COUNTER, Family, render
from simulator.bridge_counts import BridgeCounts, compare, metrics_url, parse_metrics, scrape
from simulator.ports import free_port

from tests.simulator.conftest import serving


def page(calls: dict[str, int], shed: int = 0, challenges: int = 0, failures: int = 0) -> str:
    return render([
        Family("sipconf_sip_calls_total", COUNTER, "Calls.",
               tuple(({"direction": "inbound", "status": s}, n) for s, n in calls.items())
               + (({"direction": "outbound", "status": "200"}, 9),)),
        Family.labelled("sipconf_sip_calls_shed_total", COUNTER, "Shed.", "reason", {"calls": shed, "lag": 0}),
        Family.single("sipconf_sip_auth_challenges_total", COUNTER, "Challenges.", challenges),
        Family.labelled("sipconf_sip_auth_failures_total", COUNTER, "Refused.", "direction",
                        {"inbound": failures, "outbound": 5}),
    ])


def test_the_rendered_page_parses_back():
    text = render([Family.labelled("x_total", COUNTER, 'He said "hi"\nthere', "why", {'a "b"\\c': 2.5})])
    assert parse_metrics(text) == [("x_total", {"why": 'a "b"\\c'}, 2.5)]


def test_inbound_counts_between_two_scrapes():
    before = BridgeCounts.from_page(page({"200": 10, "407": 4}, shed=1, challenges=4))
    after = BridgeCounts.from_page(page({"200": 25, "407": 9, "503": 3, "none": 1}, shed=4, challenges=8, failures=1))
    counted = after.since(before)
    assert counted == BridgeCounts({"200": 15, "407": 5, "503": 3, "none": 1}, shed=3, challenges=4, auth_failures=1)
    assert (counted.invites, counted.calls) == (24, 20)
    assert counted.line() == ("bridge (/metrics): 24 INVITEs answered: 15x 200, 5x 407, 3x 503, 1x none; "
                              "3 shed, 4 digest challenges, 1 auth failures")


def test_agreement_and_disagreement_are_one_line_each():
    counted = BridgeCounts({"200": 15, "503": 3})
    assert compare({"200": 15, "503": 3}, counted) == "client and bridge agree: 18 INVITEs, 15x 200, 3x 503"
    assert compare({"200": 14, "none": 4}, counted) == (
        "client and bridge disagree: 200: client 14, bridge 15; 503: client 0, bridge 3; none: client 4, bridge 0 "
        "(other traffic to the bridge during the run counts there too)")
    assert BridgeCounts().by_status() == "no INVITE"


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:7880", "http://127.0.0.1:7880/metrics"),
    ("ws://127.0.0.1:7880/", "http://127.0.0.1:7880/metrics"),
    ("wss://lk.example.test", "https://lk.example.test/metrics"),
])
def test_metrics_url(url, expected):
    assert metrics_url(url) == expected


@pytest.fixture
def pages() -> dict[str, tuple[int, str]]:
    return {}


@pytest.fixture
def http_server(pages):
    with serving(pages) as url:
        yield url


def test_a_server_without_sipconf_metrics_has_no_counts(http_server, pages):
    pages["/metrics"] = (200, "# a LiveKit server's own metrics\nlivekit_rooms 3\n")
    assert scrape(http_server) is None
    del pages["/metrics"]
    assert scrape(http_server) is None  # 404
    pages["/metrics"] = (200, page({"200": 2}))
    assert scrape(http_server) == BridgeCounts({"200": 2})


def test_nothing_listening_has_no_counts():
    assert scrape(f"http://127.0.0.1:{free_port()}", timeout=2) is None
