"""`sipconf test --load` reports the bridge's own counts (from `/metrics`) beside SIPp's, and
writes its per-second chart with `--report DIR`; a target without `/metrics` gets one line."""

from __future__ import annotations

import io
import json

import pytest

from sipconf.livekit.target import TargetFlags
from simulator import embedded
from simulator.cli import TestArgs as Args, run_tests
from simulator.runner import environ_for
from simulator.scenario import load_paths

from tests.simulator.conftest import LOAD, serving


def test_digest_calls_counted_alike_by_sipp_and_the_bridge(tmp_path):
    out = io.StringIO()
    code = run_tests(Args(paths=[str(LOAD)], keyword="sales", load=10, duration=1, report=str(tmp_path)), out)
    lines = out.getvalue().splitlines()
    assert code == 0, lines
    # Each call: a challenged INVITE (407) and its retry with credentials (200), on both sides.
    assert "final status: 10x 200, 10x 407" in lines
    assert ("bridge (/metrics): 20 INVITEs answered: 10x 200, 10x 407; 0 shed, 10 digest challenges, "
            "0 auth failures") in lines
    assert "client and bridge agree: 20 INVITEs, 10x 200, 10x 407" in lines
    assert f"chart: {tmp_path / 'load.html'} (and load.json)" in lines
    assert lines[-1] == "10 passed, 0 failed"
    data = json.loads((tmp_path / "load.json").read_text())
    assert data["totals"]["succeeded"] == 10 and data["totals"]["failed"] == 0
    assert sum(second["ok"] for second in data["seconds"]) == 10
    assert "<svg" in (tmp_path / "load.html").read_text()


@pytest.fixture
def livekit_without_metrics():
    """An HTTP server standing in for a LiveKit server's port: it serves no /metrics."""
    with serving({}) as url:
        yield url


def test_a_target_without_metrics_reports_client_side_only(livekit_without_metrics):
    loaded = next(s for s in load_paths([LOAD]) if s.scenario.name == "front desk")
    running = embedded.start()  # the SIP side: a real bridge with the spec applied
    try:
        running.apply(loaded.desired, environ_for(loaded, {}))
        flags = TargetFlags(url=livekit_without_metrics, api_key="key", api_secret="secret",
                            sip=f"{running.target.sip[0]}:{running.target.sip[1]}")
        out = io.StringIO()
        code = run_tests(Args(paths=[str(LOAD)], keyword="front", load=5, duration=1, target=flags), out)
    finally:
        running.stop()
    lines = out.getvalue().splitlines()
    assert code == 0, lines
    assert (f"bridge: no sipconf /metrics at {livekit_without_metrics}/metrics (a LiveKit server serves none): "
            "client-side counts only") in lines
    assert not any(line.startswith(("bridge (/metrics)", "client and bridge")) for line in lines)
    assert lines[-1] == "5 passed, 0 failed"
