"""The embedded default: `sipconf up` on free ports, the suite's spec applied, then stopped.

`sipconf test` with no `--url` and no LIVEKIT_* environment starts its own control plane and
bridge so a fresh machine can run `sipconf test scenarios/demo`. It never uses
the caller's credentials: `sipconf up` makes its own, and we read them from its
`export LIVEKIT_*` line. The spec is applied in this process, from the state the run already
loaded, through the same plan/apply code as `sipconf apply --auto-approve`.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from sipconf.checks import require_no_errors
from sipconf.errors import UserError
from sipconf.livekit.target import Target
from sipconf.model import DesiredState
from sipconf.plan.workflow import apply_against
from simulator.ports import free_port

LIVEKIT_VARS = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")


@dataclass
class Embedded:
    process: subprocess.Popen
    target: Target
    state_dir: tempfile.TemporaryDirectory
    lines: list[str]
    drain: threading.Thread | None = None

    def apply(self, desired: DesiredState, environ: Mapping[str, str]) -> None:
        """What `sipconf apply SPEC --auto-approve` does, against the embedded control plane:
        refuse a spec with errors, apply, and read back. `environ` resolves the secrets."""
        try:
            require_no_errors(desired)
            result = asyncio.run(apply_against(desired, self.target, environ=environ))
            if result.remaining is not None and not result.remaining.empty:
                raise UserError("after applying, the live project still differs from the spec")
        except UserError as err:
            raise UserError(f"applying {desired.source} to the embedded control plane failed:", *err.lines[-5:]) from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # The drain thread ends at EOF once the process is gone; only then is the pipe closed,
        # so the thread never reads a closed file.
        if self.drain is not None:
            self.drain.join(timeout=10)
        if self.process.stdout is not None and (self.drain is None or not self.drain.is_alive()):
            self.process.stdout.close()
        self.state_dir.cleanup()


def start(mode: str = "explicit", ready_timeout: float = 30.0, extra: list[str] = ()) -> Embedded:
    """Start `sipconf up` with a throwaway state file on free loopback ports; wait for `ready`.
    `extra`: more `sipconf up` options (`--max-calls 1`, `--ring-delay 0.5`)."""
    state_dir = tempfile.TemporaryDirectory(prefix="sipconf-test-")
    sip_port = free_port()
    cmd = [sys.executable, "-m", "sipconf", "up", "--http", "127.0.0.1:0", "--sip", f"127.0.0.1:{sip_port}",
           "--state", str(Path(state_dir.name) / "state.db"), "--mode", mode, *extra]
    env = {k: v for k, v in os.environ.items() if k not in LIVEKIT_VARS}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    deadline = time.monotonic() + ready_timeout
    stdout = proc.stdout
    while stdout is not None and  time.monotonic() < deadline:
        line = stdout.readline()
        if not line:
            break
        line = line.rstrip("\n")
        lines.append(line)
        if line == "ready":
            exports = _exports(lines)
            missing = [v for v in LIVEKIT_VARS if v not in exports]
            if missing:
                _discard(proc)
                raise UserError(f"sipconf up printed no {', '.join(missing)}")
            target = Target(exports["LIVEKIT_URL"], exports["LIVEKIT_API_KEY"], exports["LIVEKIT_API_SECRET"],
                            sip=("127.0.0.1", sip_port))
            # Keep draining its output so a chatty server never blocks on a full pipe.
            drain = threading.Thread(target=lambda: [lines.append(x.rstrip("\n")) for x in stdout], daemon=True)
            drain.start()
            return Embedded(proc, target, state_dir, lines, drain)
    _discard(proc)
    state_dir.cleanup()
    raise UserError("sipconf up did not become ready:", *lines[-5:])


def _discard(proc: subprocess.Popen) -> None:
    """Kill a server that never became ready, reap it and close its pipe."""
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _exports(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        if line.startswith("export "):
            for word in shlex.split(line[len("export "):]):
                name, _, value = word.partition("=")
                out[name] = value
    return out
