"""`sipconf up` as a real subprocess for tests: started on free loopback ports, read until
`ready` (no sleeping), stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}


def up_command(state: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sipconf", "up", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0",
            "--state", str(state), *extra]


def run_up(state: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`sipconf up` that is expected to stop by itself (a refusal at start); `env` defaults to
    this environment without LIVEKIT_* variables."""
    return subprocess.run(up_command(state, *extra), capture_output=True, text=True,
                          env=clean_env() if env is None else env, timeout=60)


@dataclass
class Up:
    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)  # stdout up to and including `ready`

    @property
    def url(self) -> str:
        export = next(line for line in self.lines if line.startswith("export "))
        return dict(part.split("=", 1) for part in export.split()[1:])["LIVEKIT_URL"]

    @property
    def credentials(self) -> tuple[str, str, str]:
        export = next(line for line in self.lines if line.startswith("export "))
        values = dict(part.split("=", 1) for part in export.split()[1:])
        return values["LIVEKIT_URL"], values["LIVEKIT_API_KEY"], values["LIVEKIT_API_SECRET"]

    @property
    def sip_target(self) -> tuple[str, int]:
        udp = next(line for line in self.lines if line.startswith("sip: udp ")).split()[2]
        host, port = udp.rsplit(":", 1)
        return host, int(port)

    def stop(self) -> tuple[str, str]:
        """SIGTERM; (rest of stdout, stderr)."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        return out, err

    def sipconf(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Another `sipconf` command run against this server, its target in LIVEKIT_* (as `up`
        prints them) over `env` (default: this environment without LIVEKIT_* variables)."""
        url, key, secret = self.credentials
        target = {"LIVEKIT_URL": url, "LIVEKIT_API_KEY": key, "LIVEKIT_API_SECRET": secret}
        return subprocess.run([sys.executable, "-m", "sipconf", *args], capture_output=True, text=True,
                              env={**(clean_env() if env is None else env), **target}, cwd=cwd, timeout=120)

    def kill(self) -> None:
        """Make sure the process is gone and its pipes are closed (after `stop`, a no-op)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def start_up(state: Path, *extra: str, env: dict[str, str] | None = None, errors: str | None = None) -> Up:
    """`sipconf up` read until `ready`; `env` as for `run_up`; `errors` decodes its output
    (e.g. "replace" where a test's own input may reach the output undecodable)."""
    proc = subprocess.Popen(up_command(state, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env() if env is None else env, errors=errors)
    up = Up(proc)
    for line in proc.stdout:  # blocks until the server prints
        up.lines.append(line.rstrip("\n"))
        if line.strip() == "ready":
            return up
    proc.wait(timeout=30)
    errors = proc.stderr.read()
    up.kill()
    raise AssertionError(f"sipconf up did not get ready: {up.lines} {errors}")
