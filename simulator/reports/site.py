"""The report site `--report DIR` writes: `index.html`, and per call `calls/<id>.html` with
its pcap `calls/<id>.pcap`. Every page is self-contained and opens from `file://`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from simulator.assertions import expectations
from simulator.reports.call_page import CallPage, call_html
from simulator.reports.coverage import Coverage
from simulator.reports.index_page import Row, RunSummary, index_html
from simulator.reports.pcap import write_pcap
from simulator.reports.pin_prompt import reaches_pin_prompt
from simulator.runner import Outcome


@dataclass(frozen=True)
class SiteRun:
    """What the summary says about the run besides its outcomes."""

    seconds: float
    target: str
    started: str


def target_text(url: str | None, sip: tuple[str, int] | None, embedded: bool = False) -> str:
    """Where the calls went, without any credential a URL might carry."""
    if url is None:
        return "in process (no bridge)"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    where = f"{shown}, SIP {sip[0]}:{sip[1]}" if sip else shown
    return f"embedded sipconf up ({where})" if embedded else where


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def write_site(root: Path, outcomes: list[Outcome], cov: Coverage, run: SiteRun) -> Path:
    """Writes the site; returns the path of its index.html."""
    calls = root / "calls"
    calls.mkdir(parents=True, exist_ok=True)
    rows = []
    for o in outcomes:
        name = slug(o.loaded.id)
        pcap = write_pcap(calls / f"{name}.pcap", o.result.packets)
        (calls / f"{name}.html").write_text(call_html(page_of(o, pcap.name)), encoding="utf-8")
        rows.append(Row(o.loaded.id, o.loaded.scenario.name, o.status, o.seconds, tuple(o.loaded.scenario.tags),
                        o.driver, f"calls/{name}.html", _reason(o)))
    summary = RunSummary(run.seconds, run.target, tuple(sorted({o.driver for o in outcomes})), run.started)
    index = root / "index.html"
    index.write_text(index_html(summary, rows, cov), encoding="utf-8")
    return index


def page_of(o: Outcome, pcap: str | None) -> CallPage:
    rows = expectations(o.loaded.scenario.expect, o.result)
    explained = {e.line for e in rows if not e.ok}
    problems = [line for line in o.failures if line not in explained]
    if o.skipped is not None:
        problems = [o.skipped]
    return CallPage(o.loaded.id, o.status, o.driver, o.seconds, o.loaded.scenario.call.direction, o.result,
                    rows, problems, pcap, pin_prompt=reaches_pin_prompt(o.loaded))


def _reason(o: Outcome) -> str:
    """Why it was skipped, or its first failure line."""
    return o.skipped if o.skipped is not None else (o.failures[0] if o.failures else "")
