"""The terminal output: a progress line per scenario, failures with expected-versus-got and
the SIP ladder and SIPp's own errors, skipped scenarios with the reason, and a pytest-like last
line `N passed, M failed` (`, K skipped` when some were)."""

from __future__ import annotations

from simulator.reports.evidence import evidence
from simulator.runner import Outcome


def progress_line(o: Outcome, done: int, total: int) -> str:
    line = f"[{done}/{total}] {o.loaded.id} ({o.driver}) {o.status.upper()}"
    return f"{line}: {o.skipped}" if o.skipped is not None else line


def failure_block(o: Outcome) -> list[str]:
    out = [f"___ {o.loaded.id} ({o.driver}) ___", f"{o.loaded.origin}: scenario '{o.loaded.scenario.name}'"]
    out += [f"  {line}" for line in o.failures]
    out += [f"  {line}" for line in evidence(o)]
    return out


def counts(outcomes: list[Outcome]) -> str:
    """`N passed, M failed`, then `, K skipped` when any scenario was skipped."""
    passed = sum(o.passed for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    skipped = sum(o.skipped is not None for o in outcomes)
    return f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


def summary(outcomes: list[Outcome], seconds: float) -> list[str]:
    failed = [o for o in outcomes if o.failed]
    skipped = [o for o in outcomes if o.skipped is not None]
    out: list[str] = []
    if failed:
        out.append("=" * 20 + " FAILURES " + "=" * 20)
        for o in failed:
            out += failure_block(o)
    if failed or skipped:
        out.append("=" * 20 + " short test summary " + "=" * 20)
        out += [f"FAILED {o.loaded.id} - {o.failures[0]}" for o in failed]
        out += [f"SKIPPED {o.loaded.id} ({o.driver}) - {o.skipped}" for o in skipped]
    out.append(f"wall time {seconds:.1f}s")
    out.append(counts(outcomes))
    return out
