"""The report site in a real browser: Debian's chromium, driven by Selenium through
/usr/bin/chromedriver (both installed by `make tools`), headless, pages opened from file://.

A suite with one passing and one failing call runs with SIPp against the embedded bridge; the
index is filtered to the failure, the failing call is opened, its lanes, arrows and
expectations table are checked, an arrow is clicked, and a screenshot is kept.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from simulator import cli

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Nothing the browser does on its own: no updates, sync, QUIC or background fetches.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1600")

SUITE = """
env:
  DEMO_TWILIO_PASSWORD: demo-twilio-secret
  DEMO_TELNYX_PASSWORD: demo-telnyx-secret
  DEMO_BOARD_PIN: "9876"
scenarios:
  - name: support call
    tags: [inbound, individual]
    call: {from: "+16505550111", to: "+15105550100", source: 127.0.0.11}
    steps: [{wait: joined}, {hangup: caller}]
    expect: {status: 200, trunk: twilio, rule: support}
  - name: expects the sales rule
    tags: [inbound, wrong-rule]
    call:
      from: "+16505550112"
      to: "+15105550100"
      source: 127.0.0.11
      headers: {X-Note: "<script>alert(1)</script> \\"q\\" 'q'"}
    steps: [{wait: joined}, {hangup: caller}]
    expect: {status: 200, trunk: twilio, rule: sales}
"""


@pytest.fixture
def browser(tmp_path: Path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def visible_rows(browser) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#scenarios tbody tr")
    return [r.find_element(By.CSS_SELECTOR, "a.call").text for r in rows if r.is_displayed()]


def test_a_failing_call_is_found_from_the_index_and_shows_its_ladder_and_mismatch(
        browser, suite_dir: Path, tmp_path: Path, capsys):
    (suite_dir / "calls.yaml").write_text(SUITE, encoding="utf-8")
    out = io.StringIO()
    report = tmp_path / "report"
    code = cli.run_tests(cli.TestArgs(paths=[str(suite_dir / "calls.yaml")], driver="sipp", report=str(report)), out)
    assert code == 1, out.getvalue()
    assert f"report: {report.resolve() / 'index.html'}" in out.getvalue()

    browser.get((report / "index.html").resolve().as_uri())
    assert browser.find_element(By.ID, "count-failed").text == "1"
    assert browser.find_element(By.ID, "count-passed").text == "1"
    assert len(visible_rows(browser)) == 2
    Select(browser.find_element(By.ID, "status-filter")).select_by_value("failed")
    failed = visible_rows(browser)
    assert len(failed) == 1 and failed[0].endswith("::expects the sales rule")
    assert browser.find_element(By.ID, "shown").text == "1 shown"
    Select(browser.find_element(By.ID, "status-filter")).select_by_value("")
    Select(browser.find_element(By.ID, "tag-filter")).select_by_value("individual")
    assert [name.rsplit("::", 1)[1] for name in visible_rows(browser)] == ["support call"]
    Select(browser.find_element(By.ID, "tag-filter")).select_by_value("")
    Select(browser.find_element(By.ID, "status-filter")).select_by_value("failed")

    browser.find_element(By.LINK_TEXT, failed[0]).click()
    assert browser.title.endswith("::expects the sales rule")
    lanes = [g.get_attribute("data-role") for g in browser.find_elements(By.CSS_SELECTOR, "svg.ladder g.lane")]
    assert lanes == ["caller", "bridge"]
    arrows = browser.find_elements(By.CSS_SELECTOR, "svg.ladder a.arrow")
    labels = [a.find_element(By.CSS_SELECTOR, "text").text for a in arrows]
    assert labels[0] == "INVITE" and "200 OK" in labels and "BYE" in labels
    mismatch = browser.find_element(By.CSS_SELECTOR, "table.expectations tr.mismatch")
    assert [td.text for td in mismatch.find_elements(By.TAG_NAME, "td")] == ["rule", "'sales'", "'support'", "\u2717"]

    invite = browser.find_element(By.ID, arrows[0].get_attribute("data-msg"))
    assert invite.get_attribute("open") is None
    arrows[0].click()
    assert invite.get_attribute("open") == "true"
    assert "X-Note: <script>alert(1)</script> \"q\" 'q'" in invite.find_element(By.TAG_NAME, "pre").text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []

    shot = tmp_path / "failing-call.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\nscreenshot of the failing call's page: {shot}")
