"""`sipconf up` as a real subprocess: binds, prints addresses and `ready`, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from livekit import api
from livekit.protocol import sip


def test_up_prints_ready_serves_and_stops_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sipconf", "up", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--state", str(tmp_path / "s.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        lines = []
        for line in proc.stdout:  # blocks until the server prints; no sleeping
            lines.append(line.rstrip("\n"))
            if line.strip() == "ready":
                break
        assert lines[-1] == "ready", (lines, proc.stderr.read() if proc.poll() is not None else "")
        export = next(l for l in lines if l.startswith("export "))
        values = dict(part.split("=", 1) for part in export.split()[1:])
        assert values["LIVEKIT_API_KEY"] == "devkey" and len(values["LIVEKIT_API_SECRET"]) >= 32
        assert values["LIVEKIT_URL"].startswith("http://127.0.0.1:") and not values["LIVEKIT_URL"].endswith(":0")
        assert any(l.startswith("sip: udp ") for l in lines)

        async def use():
            async with api.LiveKitAPI(values["LIVEKIT_URL"], values["LIVEKIT_API_KEY"], values["LIVEKIT_API_SECRET"]) as lk:
                t = await lk.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(trunk=sip.SIPOutboundTrunkInfo(address="127.0.0.1", numbers=["+1"])))
                return t.sip_trunk_id

        assert asyncio.run(use()).startswith("ST_")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert out.strip().splitlines()[-1] == "stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_up_refuses_a_routable_address(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sipconf", "up", "--http", "10.1.2.3:0", "--state", str(tmp_path / "s.db")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "--http '10.1.2.3:0': sipconf up only listens on loopback (127.0.0.0/8 or ::1)"


def test_up_refuses_a_short_secret_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["LIVEKIT_API_SECRET"] = "short"
    proc = subprocess.run(
        [sys.executable, "-m", "sipconf", "up", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--state", str(tmp_path / "s.db")],
        capture_output=True, text=True, env=env, timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["LIVEKIT_API_SECRET must be at least 32 bytes (an HS256 key); it is 5"]
    assert "short" not in proc.stdout + proc.stderr
