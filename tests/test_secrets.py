"""No secret value leaves the places that must hold it.

The demo flow (`scenarios/demo/run.sh`: validate, `sipconf up`, apply, plan, explain, a
markdown plan, `sipconf test` with --junit/--report, stop), with an import, saved and JSON
plans, the other drivers, a load run, a Locust run and a password rotation besides, runs with distinctive
secret values: both trunk passwords (with XML specials and spaces, which
SIPp gets through its scenario XML), the API secret and a PIN. Every command's stdout and
stderr, the server's log, every report file (the report site's index.html and call pages
included; the PIN is on a page, masked), the saved plan and every file left in the run's
TMPDIR are searched for them, and every process's command line is sampled while it runs.
The state file must be private (0600). A pcap holds the digest response, never the password.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo"

# Each secret carries a plain canary word, so an escaped copy (`&amp;`, `\"`, `\x20`) is found too.
TWILIO_PASSWORD = "CanaryTw7Kq4Zr8 &<>\"' twilio pass"
TELNYX_PASSWORD = "CanaryTx3Mv9Pw2 &<>\"' telnyx pass"
API_SECRET = "CanaryApi5Hd8Jq1-sipconf-secret-scan-0123456789"
BOARD_PIN = "60513829470"  # 11 digits: no port, timestamp or nonce looks like it
ROTATED_PASSWORD = "CanaryRot4Bn6Yc1 &<>\"' rotated"  # the twilio password after a rotation

SECRETS = {
    "DEMO_TWILIO_PASSWORD": TWILIO_PASSWORD,
    "DEMO_TELNYX_PASSWORD": TELNYX_PASSWORD,
    "LIVEKIT_API_SECRET": API_SECRET,
    "DEMO_BOARD_PIN": BOARD_PIN,
    "DEMO_TWILIO_PASSWORD (rotated)": ROTATED_PASSWORD,
}
PASSWORDS = {"DEMO_TWILIO_PASSWORD": TWILIO_PASSWORD, "DEMO_TELNYX_PASSWORD": TELNYX_PASSWORD}
ENVIRONMENT = {name: value for name, value in SECRETS.items() if " " not in name}


def needles(values: dict[str, str]) -> dict[str, list[bytes]]:
    """What to look for, per secret: the value itself and its canary word."""
    out: dict[str, list[bytes]] = {}
    for name, value in values.items():
        canary = value.split(" ", 1)[0].split("-", 1)[0]
        out[name] = sorted({value.encode(), canary.encode()}, key=len)
    return out


def hits(data: bytes, values: dict[str, str] = SECRETS) -> list[str]:
    """The names of the secrets found in `data` (never the values: this is test output too)."""
    return [name for name, forms in needles(values).items() if any(form in data for form in forms)]


@dataclass
class CommandLineWatch:
    """Samples every process's command line (/proc/PID/cmdline) while the flow runs. A new
    process is read on every pass for its first seconds (a fork shows its parent's command line
    until it execs), every process again on a slower full pass."""

    found: dict[str, str] = field(default_factory=dict)  # secret name -> the program that had it
    passes: int = 0
    programs: set[str] = field(default_factory=set)  # every program seen: proof the sampling sees SIPp
    _stop: threading.Event = field(default_factory=threading.Event)
    _young: dict[int, float] = field(default_factory=dict)

    def __enter__(self) -> CommandLineWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last_full = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            full = now - last_full > 0.25
            if full:
                last_full = now
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                pid = int(entry)
                first = self._young.setdefault(pid, now)
                if full or now - first < 3.0:
                    self._check(pid)
            self.passes += 1
            time.sleep(0.003)

    def _check(self, pid: int) -> None:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:  # gone already, or not ours to read
            return
        if not cmdline:
            return
        program = os.path.basename(cmdline.split(b"\0", 1)[0].decode(errors="replace"))
        self.programs.add(program)
        for name in hits(cmdline):
            self.found.setdefault(name, program)


@dataclass
class Flow:
    """The commands of the demo flow, each one's output kept for the scan."""

    work: Path
    env: dict[str, str]
    outputs: dict[str, bytes] = field(default_factory=dict)

    def run(self, label: str, *args: str, ok: tuple[int, ...] = (0,), timeout: float = 600, **env: str) -> int:
        done = subprocess.run([sys.executable, "-m", "sipconf", *args], cwd=ROOT, env={**self.env, **env},
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        self.outputs[f"{label} (stdout)"] = done.stdout
        self.outputs[f"{label} (stderr)"] = done.stderr
        assert done.returncode in ok, f"{label}: exit {done.returncode}\n{_tail(done.stdout)}\n{_tail(done.stderr)}"
        return done.returncode


def _tail(data: bytes, lines: int = 30) -> str:
    """The end of a command's output for an assertion message, with any secret masked."""
    text = data.decode(errors="replace")
    for forms in needles(SECRETS).values():
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form.decode(), "<secret>")
    return "\n".join(text.splitlines()[-lines:])


def _demo_suite(into: Path) -> Path:
    """A copy of the demo suite whose PIN scenario dials the board PIN of this run."""
    suite = into / "demo"
    shutil.copytree(DEMO, suite, ignore=shutil.ignore_patterns("run.sh"))
    pin = suite / "dtmf" / "pin.yaml"
    text = pin.read_text()
    assert 'dtmf: "9876#"' in text
    pin.write_text(text.replace('dtmf: "9876#"', f'dtmf: "{BOARD_PIN}#"'))
    return suite


def _wait_ready(log: Path, process: subprocess.Popen, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        if "ready" in lines:
            return lines
        assert process.poll() is None, f"sipconf up exited {process.returncode}:\n{_tail(log.read_bytes())}"
        time.sleep(0.1)
    raise AssertionError("sipconf up did not print ready")


def _digest_responses(pcap: bytes) -> list[str]:
    """The `response` of every Authorization and Proxy-Authorization header in a pcap."""
    headers = re.findall(rb"(?im)^(?:proxy-)?authorization:[ \t]*digest[^\r\n]*", pcap)
    return [m.group(1).decode() for h in headers if (m := re.search(rb'response="?([^",\s]*)', h))]


def test_the_demo_flow_leaks_no_secret(tmp_path: Path):
    tmp = tmp_path / "tmp"
    tmp.mkdir(mode=0o700)
    reports = tmp_path / "reports"
    suite = _demo_suite(tmp_path)
    spec = suite / "spec.yaml"
    state = tmp_path / "state" / "state.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env.update(ENVIRONMENT, TMPDIR=str(tmp), LIVEKIT_API_KEY="secret-scan-key")
    flow = Flow(tmp_path, env)
    up_log = tmp_path / "up.log"

    with CommandLineWatch() as watch:
        flow.run("validate", "validate", str(spec))
        with up_log.open("wb") as log:
            up = subprocess.Popen([sys.executable, "-m", "sipconf", "up", "--http", "127.0.0.1:0", "--sip",
                                   "127.0.0.1:0", "--state", str(state), "--log-level", "DEBUG"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            lines = _wait_ready(up_log, up)
            url = next(line.split("LIVEKIT_URL=", 1)[1].split()[0] for line in lines if "LIVEKIT_URL=" in line)
            sip = next(re.match(r"sip: udp (\S+) ", line).group(1) for line in lines if line.startswith("sip: udp "))
            env.update(LIVEKIT_URL=url, SIPCONF_SIP=sip)

            flow.run("apply", "apply", str(spec), "--auto-approve")
            flow.run("plan", "plan", str(spec), "--detailed-exitcode")
            flow.run("import", "import")
            flow.run("import to a file", "import", "--out", str(tmp_path / "imported.yaml"))
            flow.run("explain routed", "explain", str(spec), "--from", "+14085551234", "--to", "+15105550100",
                     "--src-ip", "127.0.0.11", "--header", "X-Customer-Tier: gold")
            flow.run("explain PIN room", "explain", str(spec), "--from", "+14085550042", "--to", "+14155550100",
                     "--src-ip", "127.0.0.12", "--auth-env", "acme-telnyx:DEMO_TELNYX_PASSWORD",
                     "--pin", "4321")
            flow.run("explain rejected", "explain", str(spec), "--from", "+14085551234", "--to", "+15105550199",
                     "--src-ip", "127.0.0.11", ok=(1,))
            edited = tmp_path / "edited.yaml"
            edited.write_text(spec.read_text().replace("callee: {room_prefix: sales, randomize: false}",
                                                       "callee: {room_prefix: sales-line, randomize: false}"))
            flow.run("markdown plan", "plan", str(edited), "--format", "markdown", "--detailed-exitcode", ok=(2,))
            saved = tmp_path / "saved-plan.json"
            flow.run("saved plan", "plan", str(edited), "--out", str(saved), "--detailed-exitcode", ok=(2,))
            flow.run("json plan", "plan", str(edited), "--format", "json", "--detailed-exitcode", ok=(2,))
            flow.run("suite", "test", str(suite), "--report", str(reports), "--junit", str(reports / "junit.xml"),
                     "--min-coverage", "90")
            # The other drivers, on the calls that carry a secret (inproc places inbound calls only).
            for driver, keyword in (("scapy", "auth or pin"), ("inproc", "(auth or pin) and not outbound")):
                flow.run(f"{driver} suite", "test", str(suite), "-k", keyword, "--driver", driver,
                         "--report", str(tmp_path / f"reports-{driver}"), "--junit",
                         str(tmp_path / f"reports-{driver}" / "junit.xml"))
            flow.run("load", "test", str(suite / "inbound" / "auth.yaml"), "-k", "right and password",
                     "--load", "2", "--duration", "2")
            # Locust (one process) placing the digest calls: its output, CSV files and chart are scanned.
            locust = subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(ROOT / "simulator" / "locust" / "locustfile.py"),
                 "--headless", "-u", "2", "-r", "2", "-t", "3s", "--stop-timeout", "5", "--host", sip,
                 "--csv", str(tmp_path / "locust" / "run"), "--sip-scenarios", str(suite / "inbound" / "auth.yaml"),
                 "--sip-select", "auth"], cwd=tmp_path, env=env, capture_output=True, timeout=120,
                stdin=subprocess.DEVNULL)
            flow.outputs["locust (stdout)"], flow.outputs["locust (stderr)"] = locust.stdout, locust.stderr
            assert locust.returncode == 0, _tail(locust.stderr)
            # A rotated password: plan (every format), apply, plan again; neither value is shown.
            rotated = {"DEMO_TWILIO_PASSWORD": ROTATED_PASSWORD}
            flow.run("rotated plan", "plan", str(spec), "--detailed-exitcode", ok=(2,), **rotated)
            flow.run("rotated markdown plan", "plan", str(spec), "--format", "markdown", "--detailed-exitcode", ok=(2,), **rotated)
            flow.run("rotated json plan", "plan", str(spec), "--format", "json", "--detailed-exitcode", ok=(2,), **rotated)
            rotated_plan = tmp_path / "rotated-plan.json"
            flow.run("rotated saved plan", "plan", str(spec), "--out", str(rotated_plan), "--detailed-exitcode",
                     ok=(2,), **rotated)
            flow.run("rotated apply", "apply", str(rotated_plan), "--auto-approve", **rotated)
            flow.run("rotated plan again", "plan", str(spec), "--detailed-exitcode", **rotated)
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=30)
    assert "sipp" in watch.programs  # the sampling is fast enough to see each short SIPp run

    files = {str(path.relative_to(tmp_path)): path for path in sorted(tmp_path.rglob("*")) if path.is_file()}
    scanned = {label: data for label, data in flow.outputs.items()}
    scanned["sipconf up (log)"] = up_log.read_bytes()
    for label, path in files.items():
        if path.suffix == ".pcap" or path.parent == suite or suite in path.parents or path == edited:
            continue  # the suite's own files are inputs; pcaps are checked below
        if path.name.startswith("state.db"):
            continue  # the state file holds the trunks' passwords by design: it must be private
        scanned[label] = path.read_bytes()
    leaks = {label: found for label, data in scanned.items() if (found := hits(data))}
    assert leaks == {}
    assert watch.found == {}

    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert {"calls", "junit.xml", "coverage.txt", "index.html"} <= {p.name for p in reports.iterdir()}
    # The report site was scanned above, and the PIN the scapy driver sent over RTP is on a
    # page, masked: the scan saw a page that shows the digits.
    pages = {label for label in scanned if label.endswith(".html")}
    assert "reports/index.html" in pages and "reports-scapy/index.html" in pages
    board = next((tmp_path / "reports-scapy" / "calls").glob("*second_PIN*.html")).read_text(encoding="utf-8")
    assert board.count('<g class="dtmf masked">') == len(BOARD_PIN) + 1  # the digits and the #
    assert {"run_stats.csv", "run_chart.html"} <= {p.name for p in (tmp_path / "locust").iterdir()}
    assert [str(p.relative_to(tmp)) for p in tmp.rglob("*.xml")] == []  # no SIPp scenario outlives its run

    # Pcaps hold the SIP messages and the digest response (inherent), never a password in clear.
    pcaps = sorted((reports / "calls").glob("*.pcap"))
    assert pcaps
    digests = []
    for pcap in pcaps:
        data = pcap.read_bytes()
        assert hits(data, PASSWORDS) == [], pcap.name
        digests += _digest_responses(data)
    assert digests and all(re.fullmatch("[0-9a-f]{32}", d) for d in digests)
    assert not set(digests) & set(PASSWORDS.values())
