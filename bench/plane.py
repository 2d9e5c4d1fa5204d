"""`sipconf up` in a subprocess for the benchmarks: the embedded control plane and the SIP
bridge on free loopback ports, with a state file of its own, and the LIVEKIT_* variables a
`sipconf plan`/`apply` needs to reach it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from bench.sippload import free_port

ROOT = Path(__file__).resolve().parent.parent
SIPCONF = str(Path(sys.executable).with_name("sipconf"))


@contextlib.contextmanager
def process(cmd: list[str], ready: str | None = None, env: dict | None = None, log: Path | None = None):
    """A process for the length of the block: waits for `ready` in its log when given, and is
    stopped with SIGTERM (then killed) at the end."""
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while ready and log and ready not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        if not ready:
            time.sleep(0.5)
        yield proc
    finally:
        stop(proc, 10)
        if log:
            out.close()


def stop(proc: subprocess.Popen, patience: float) -> None:
    """SIGTERM, then SIGKILL if `proc` has not exited within `patience` seconds."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(patience)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def clean_environment() -> dict[str, str]:
    """This environment without the caller's LIVEKIT_* credentials: a benchmark never points
    at anyone's real project."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}


@contextlib.contextmanager
def embedded_up(tmp: Path, profile: Path | None = None) -> Iterator[tuple[dict[str, str], int]]:
    """`sipconf up` with an empty state in `tmp`; yields (the environment for sipconf commands
    that target it, its SIP port). Applies lock in `tmp` too. With `profile`, it runs under
    cProfile, which writes there when it stops (SIGTERM ends `sipconf up` cleanly)."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = clean_environment()
    log = tmp / "up.log"
    sipconf = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "sipconf"] if profile else [SIPCONF]
    cmd = [*sipconf, "up", "--http", "127.0.0.1:0", "--sip", f"127.0.0.1:{port}", "--state", str(tmp / "state.db")]
    with process(cmd, ready="\nready", env=env, log=log):
        exports = re.search(r"^export (.*)$", log.read_text(), re.M)
        for pair in exports.group(1).split():
            key, _, value = pair.partition("=")
            env[key] = value.strip("'\"")
        env["SIPCONF_LOCK_DIR"] = str(tmp)
        yield env, port
