"""The responders `make bench` loads, each started fresh for every run of SIPp.

- `reference`: bench/reference_uas.py, a bare asyncio responder (no routing, no state);
- `sipp-uas`: SIPp's own built-in `uas`;
- `bridge`: `sipconf up` on a copy of a state file that already holds a spec (applied once by
  `prepared_state`, since applying 10,000 numbers takes a while), so every run starts from
  the same state with nothing left over from the run before.

Every start yields `Started`: the SIP target (host:port on loopback) and the process. Before
the caller's load, one call warms the responder (the bridge builds its routing index on its
first INVITE).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from bench.plane import stop
from bench.sippload import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Started:
    target: str  # host:port of its SIP UDP listener
    proc: subprocess.Popen


Responder = Callable[[Path], ContextManager[Started]]  # (a scratch directory) -> started responder


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}


@contextlib.contextmanager
def _running(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env or _env(), cwd=ROOT)
    try:
        yield proc
    finally:
        stop(proc, 30)


def _wait_bound(port: int, proc: subprocess.Popen, log: Path) -> None:
    """Until something holds UDP `port` on 127.0.0.1 (binding it fails)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as err:
                if err.errno == errno.EADDRINUSE:
                    return
                raise
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args[0]} did not start: {log.read_text()[-1000:]}")
        time.sleep(0.05)


@contextlib.contextmanager
def reference(tmp: Path) -> Iterator[Started]:
    port = free_port()
    log = tmp / "reference.log"
    with _running([sys.executable, str(HERE / "reference_uas.py"), str(port)], log) as proc:
        _wait_bound(port, proc, log)
        yield Started(f"127.0.0.1:{port}", proc)


@contextlib.contextmanager
def sipp_uas(tmp: Path) -> Iterator[Started]:
    port = free_port()
    log = tmp / "sipp-uas.log"
    cmd = ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-nostdin",
           "-cp", str(free_port(socket.SOCK_STREAM)), "-mp", str(free_port())]
    with _running(cmd, log) as proc:
        _wait_bound(port, proc, log)
        yield Started(f"127.0.0.1:{port}", proc)


def _sipconf(*args: str) -> list[str]:
    return [sys.executable, "-m", "sipconf", *args]


@contextlib.contextmanager
def _up(state: Path, log: Path, extra: tuple[str, ...] = ()) -> Iterator[tuple[Started, dict[str, str]]]:
    """`sipconf up` on free loopback ports with `state` (and `extra` options); yields it and the
    LIVEKIT_* of its API."""
    cmd = _sipconf("up", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--state", str(state), *extra)
    with _running(cmd, log) as proc:
        deadline = time.monotonic() + START_TIMEOUT
        while "\nready\n" not in "\n" + log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sipconf up did not get ready: {log.read_text()[-1000:]}")
            time.sleep(0.1)
        printed = log.read_text()
        env = _env()
        for pair in re.search(r"^export (.*)$", printed, re.M).group(1).split():
            key, _, value = pair.partition("=")
            env[key] = value.strip("'\"")
        yield Started(re.search(r"^sip: udp (\S+)", printed, re.M).group(1), proc), env


def prepared_state(spec: Path, tmp: Path) -> Path:
    """A state file holding `spec`, applied once through the API as a user would."""
    state = tmp / f"{spec.stem}.db"
    with _up(state, tmp / f"{spec.stem}-apply.log") as (_, env):
        applied = subprocess.run(_sipconf("apply", str(spec), "--auto-approve"), env=env, capture_output=True,
                                 text=True, cwd=ROOT)
        if applied.returncode != 0:
            said = [line for line in (applied.stdout + applied.stderr).splitlines() if line.strip()]
            raise RuntimeError(f"sipconf apply {spec.name} failed" + (f": {said[-1]}" if said else ""))
    return state


def bridge(state: Path, extra: tuple[str, ...] = ()) -> Responder:
    """`sipconf up` on a fresh copy of `state` (from `prepared_state`) for every start, with
    `extra` options (e.g. `--workers 2`)."""

    @contextlib.contextmanager
    def start(tmp: Path) -> Iterator[Started]:
        copy = tmp / "bridge.db"
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{state}{suffix}")
            target = Path(f"{copy}{suffix}")
            target.unlink(missing_ok=True)
            if source.exists():
                shutil.copyfile(source, target)
        with _up(copy, tmp / "bridge.log", extra) as (started, _env_):
            yield started

    return start
