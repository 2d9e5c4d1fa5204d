"""Running the real `sipp` binary: allocated ports, one call, its message trace kept.

Ports (`-p`, `-cp`, `-mp`) come from `simulator.ports` and bind `-i` (a loopback address),
never SIPp's defaults 5060/8888/6000 (sipp-notes: fixed ports collide). `-aa` is never
passed. Exit codes (SIPp docs): 0 all calls OK, 1 some failed, 97 internal or global
timeout, 99 no call processed, 254 a socket it cannot bind, 255 a fatal error -- and also the
global `-timeout` with `-timeout_error` ("... timed out after N seconds" in the error log),
which `SippRun.meaning` tells apart so a slow call never reads as a syntax error.

The scenario XML may carry digest credentials (`simulator.sippxml`): it is written 0600 in a
0700 folder, and a scenario that carries them is removed as soon as SIPp has exited.

A run whose sockets could not be bound (254 before any message went out: another process
took a `-cp`/`-mp` port between our check and SIPp's bind) is retried with fresh ports. A
cancelled run kills SIPp and waits for it, so the next scenario at the same far-end address
finds the port free.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from sipconf.errors import UserError
from sipconf.sip.sipuri import join_host_port
from simulator.ports import free_port

EXIT_MEANING = {0: "all calls succeeded", 1: "at least one call failed", 97: "internal command or global timeout",
                99: "no call was processed", 254: "cannot bind a socket", 255: "fatal error (command or syntax)"}


def auth_uri(called: str, target: tuple[str, int]) -> str:
    """SIPp's `-auth_uri` (SIPp adds the `sip:`): the INVITE's Request-URI, which the bridge
    requires as the digest uri (RFC 2617 3.2.2.5); SIPp's default is `sip:<remote_ip>:<remote_port>`."""
    return f"{called}@{join_host_port(*target)}"


@dataclass
class SippRun:
    returncode: int
    trace: str
    stderr: str
    local: tuple[str, int]

    @property
    def meaning(self) -> str:
        timed_out = next((line for line in self.stderr.splitlines() if "timed out after" in line), None)
        if self.returncode == 255 and timed_out is not None:
            return "global timeout (-timeout) reached: " + timed_out.split(": ", 1)[-1].strip()
        return EXIT_MEANING.get(self.returncode, f"exit {self.returncode}")

    def error_lines(self) -> list[str]:
        """SIPp's own error lines (stderr and the -trace_err log), timestamps cut, repeats and
        its banner lines dropped."""
        out: list[str] = []
        for line in self.stderr.splitlines():
            text = line.strip()
            if not text or text.startswith(_NOISE):
                continue
            stamped = _STAMP.match(text)
            text = text[stamped.end():].strip() if stamped else text
            if text and text not in out:
                out.append(text)
        return out

    def report(self, who: str, limit: int = 12) -> list[str]:
        """What SIPp itself says about the run -- exit code and meaning, its error lines, an
        empty message trace -- shown with every failure of a call it took part in."""
        lines = [f"sipp {who}: exit {self.returncode} ({self.meaning})"]
        errors = self.error_lines()
        lines += [f"  {line}" for line in errors[-limit:]]
        if len(errors) > limit:
            lines.append(f"  ({len(errors) - limit} earlier error lines not shown)")
        if not self.trace.strip():
            lines.append("  its message trace (-trace_msg) is empty: it sent and received no SIP message")
        return lines

    @property
    def bind_failed(self) -> bool:
        """SIPp could not bind one of its sockets and sent nothing."""
        return self.returncode == 254 and not self.trace.strip() and "Unable to bind" in self.stderr


# SIPp's progress chatter on stderr, not errors.
_NOISE = ("Resolving remote host", "The following events occurred")
# "2026-11-25<TAB>14:19:07.472625<TAB>1795616347.472625: " in front of each -trace_err line
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d\s+[\d:.]+\s+[\d.]+:\s*")


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if found is None:
        raise UserError("sipp is not installed: apt-get install -y sip-tester (make test installs it)")
    return found


BIND_ATTEMPTS = 3


def write_private(path: Path, text: str) -> None:
    """Write a SIPp scenario readable by its owner only (0600, in a 0700 folder it creates).
    A file of that name is replaced, never rewritten: whoever could open the old one must not
    read the new text through it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ISO-8859-1") as out:
        out.write(text)


async def run_sipp(xml: str, workdir: Path, name: str, local_ip: str, remote: tuple[str, int] | None,
                   extra: list[str], timeout: float, local_port: int | None = None,
                   transport: str = "udp", secret: bool = False) -> SippRun:
    """Run one SIPp call; `transport` "udp" (`-t u1`) or "tcp" (`-t t1`: one connection).
    `secret`: the XML carries credentials, so it does not outlive the run."""
    scenario = workdir / f"{name}.xml"
    write_private(scenario, xml)
    try:
        for attempt in range(BIND_ATTEMPTS):
            run = await _run_once(scenario, workdir, name, local_ip, remote, extra, timeout, local_port, transport)
            if not run.bind_failed:
                break
    finally:
        if secret:
            scenario.unlink(missing_ok=True)
    return run


async def _run_once(scenario: Path, workdir: Path, name: str, local_ip: str, remote: tuple[str, int] | None,
                    extra: list[str], timeout: float, local_port: int | None, transport: str) -> SippRun:
    trace = workdir / f"{name}_messages.log"
    errors = workdir / f"{name}_errors.log"
    for old in (trace, errors):
        old.unlink(missing_ok=True)
    port = local_port or free_port(local_ip)
    cmd = [sipp_binary(), "-sf", str(scenario)]
    if remote is not None:
        cmd.append(f"{remote[0]}:{remote[1]}")
    cmd += ["-i", local_ip, "-p", str(port), "-cp", str(free_port("127.0.0.1")), "-mp", str(free_port(local_ip, 4)),
            "-m", "1", "-t", "t1" if transport == "tcp" else "u1", "-nostdin", "-trace_msg", "-message_file", str(trace),
            "-trace_err", "-error_file", str(errors), "-timeout", f"{int(timeout)}s", "-timeout_error",
            "-max_recv_loops", "1000", *extra]
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                cwd=str(workdir))
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 10)
    except (asyncio.TimeoutError, TimeoutError):
        proc.kill()
        out, err = await proc.communicate()
    except BaseException:
        # Cancelled (the scenario's budget ran out): never leave SIPp holding the far end's port.
        if proc.returncode is None:
            proc.kill()
            await asyncio.shield(proc.wait())
        raise
    text = trace.read_text(encoding="utf-8", errors="replace") if trace.exists() else ""
    stderr = err.decode(errors="replace")
    if errors.exists():
        stderr += errors.read_text(encoding="utf-8", errors="replace")
    return SippRun(proc.returncode if proc.returncode is not None else -1, text, stderr, (local_ip, port))


async def wait_bound(address: tuple[str, int], timeout: float, task: asyncio.Task, transport: str = "udp") -> bool:
    """True once something (SIPp) listens on `address` (UDP, or TCP): our own bind then fails."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and not task.done():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM) as probe:
            if transport == "tcp":  # a previous call's TIME_WAIT is no listener
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError:
                return True
        await asyncio.sleep(0.02)
    return False
