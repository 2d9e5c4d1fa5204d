"""The locustfile's options as Locust parses them (Locust's --help does not list them), in a
process of its own: importing Locust patches the process with gevent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("parsed_options.py")


def parsed(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_loopback_only_unless_the_operator_opts_in():
    assert parsed()["sip_allow_external"] is False
    options = parsed("--sip-allow-external", "--sip-source", "192.0.2.7", "--sip-scenarios", "scenarios/load")
    assert options["sip_allow_external"] is True
    assert options["sip_source"] == "192.0.2.7" and options["sip_scenarios"] == "scenarios/load"
