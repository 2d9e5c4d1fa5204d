"""The terminal output: a progress line per scenario, failures with expected-versus-got and
the SIP ladder and SIPp's own errors, and a pytest-like last line `N passed, M failed`."""

from __future__ import annotations

from simulator.reports.evidence import evidence
from simulator.runner import Outcome


def progress_line(o: Outcome, done: int, total: int) -> str:
    mark = "PASSED" if o.passed else "FAILED"
    return f"[{done}/{total}] {o.loaded.id} ({o.driver}) {mark}"


def failure_block(o: Outcome) -> list[str]:
    out = [f"___ {o.loaded.id} ({o.driver}) ___", f"{o.loaded.origin}: scenario '{o.loaded.scenario.name}'"]
    out += [f"  {line}" for line in o.failures]
    out += [f"  {line}" for line in evidence(o)]
    return out


def summary(outcomes: list[Outcome], seconds: float) -> list[str]:
    failed = [o for o in outcomes if not o.passed]
    out: list[str] = []
    if failed:
        out.append("=" * 20 + " FAILURES " + "=" * 20)
        for o in failed:
            out += failure_block(o)
        out.append("=" * 20 + " short test summary " + "=" * 20)
        out += [f"FAILED {o.loaded.id} - {o.failures[0]}" for o in failed]
    out.append(f"wall time {seconds:.1f}s")
    out.append(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return out
