"""A real record-routing proxy for the bridge tests: kamailio with tests/bridge/kamailio/kamailio.cfg,
on a free loopback port (UDP and TCP), in the foreground, with its own runtime directory."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.bridge.process_group import stop_group

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
CONFIG = Path(__file__).parent / "kamailio" / "kamailio.cfg"
START_LIMIT = 20.0  # seconds to wait for the listener on a loaded machine (a bound, not a check)


@dataclass
class Proxy:
    port: int
    log_path: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port_for_both() -> int:
    """A port free for UDP and for TCP on 127.0.0.1 (kamailio listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running_kamailio(workdir: Path):
    """`with running_kamailio(tmp_path) as proxy:` kamailio on `proxy.port` until the block exits."""
    run_dir = workdir / "kamailio-run"
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port_for_both()
    log_path = run_dir / "kamailio.log"
    with open(log_path, "wb") as log:
        # -DD -E: no daemon, log to stderr; -Y: pid/ctl files under our directory; small shm/pkg
        # pools, since several test runs share the machine.
        process = subprocess.Popen(
            [KAMAILIO, "-f", str(CONFIG), "-DD", "-E", "-Y", str(run_dir), "-w", str(run_dir),
             "-l", f"udp:127.0.0.1:{port}", "-l", f"tcp:127.0.0.1:{port}", "-m", "32", "-M", "8"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(run_dir),
            start_new_session=True)  # its own process group: its children stop with it
    proxy = Proxy(port, log_path)
    try:
        deadline = time.monotonic() + START_LIMIT
        while not _listening(port):
            if process.poll() is not None:
                raise RuntimeError(f"kamailio exited with {process.returncode}: {proxy.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"kamailio did not listen on {port}: {proxy.log()}")
            time.sleep(0.05)
        yield proxy
    finally:
        stop_group(process)
