"""docs/quickstart.md runs as written: its marked blocks, in order, in an empty folder, against
a real `sipconf up` (the real livekit-api client, real SIPp calls on loopback).

Blocks are marked with an HTML comment on the line before the fence:
- `<!-- quickstart: server -->` is `sipconf up`; the test starts it with `--http 127.0.0.1:0
  --sip 127.0.0.1:0` appended (the last flag wins), so runs in parallel never share a port;
- `<!-- quickstart: file NAME -->` is written to NAME;
- `<!-- quickstart: run -->` is run line by line with bash, after the `export` line `sipconf up`
  printed (as the page tells the reader to paste it), the page's SIP address `127.0.0.1:5060`
  replaced by the one the server got.
The only block left unmarked is the install command, which needs the network.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.local.up_process import clean_env

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "quickstart.md"
BLOCK = re.compile(r"(?:<!-- quickstart: (?P<mark>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```\n", re.S)
PAGE_SIP = "127.0.0.1:5060"


def blocks() -> list[tuple[str | None, str]]:
    return [(m["mark"], m["body"]) for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))]


def test_every_block_but_the_install_is_marked_and_the_page_is_linked_from_the_readme():
    unmarked = [body for mark, body in blocks() if mark is None]
    assert unmarked == ["pip install .\n"]
    marks = [mark.split()[0] for mark, _body in blocks() if mark]
    assert marks == ["server", "file", "run", "run", "file", "run"]
    assert "(docs/quickstart.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_addresses_the_page_names_are_sipconf_ups_defaults():
    from sipconf.commands import up

    parser = argparse.ArgumentParser()
    up.add_arguments(parser)
    defaults = parser.parse_args([])
    assert (defaults.http, defaults.sip, defaults.state) == ("127.0.0.1:7880", PAGE_SIP, ".sipconf/state.db")
    text = PAGE.read_text(encoding="utf-8")
    assert "`127.0.0.1:7880`" in text and f"`{PAGE_SIP}`" in text and "`.sipconf/state.db`" in text


def test_the_quickstart_runs_as_written(tmp_path):
    bin_dir = Path(sys.executable).parent
    env = {**clean_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    server = None
    outputs: list[str] = []
    try:
        for mark, body in blocks():
            if mark is None:
                continue
            kind, _, name = mark.partition(" ")
            if kind == "server":
                assert body == "sipconf up\n"
                server, exports, sip = _start(body.split() + ["--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"], tmp_path, env)
                env.update(exports)
            elif kind == "file":
                (tmp_path / name).write_text(body, encoding="utf-8")
            else:
                assert kind == "run" and server is not None
                for line in body.splitlines():
                    done = subprocess.run(["bash", "-euo", "pipefail", "-c", line.replace(PAGE_SIP, sip)],
                                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
                    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
                    outputs.append(done.stdout)
    finally:
        if server is not None:
            server.terminate()
            server.communicate(timeout=30)
    validate, fmt, plan, apply, suite = outputs
    assert validate == "ok: 1 inbound trunk, 0 outbound trunks, 2 dispatch rules (spec.yaml)\n"
    assert fmt == ""  # already in fmt's form, as the page says
    assert plan.splitlines()[-1] == "Plan: 3 to create, 0 to update, 0 to delete."
    assert apply.splitlines()[-1] == "Read back: the live project matches the spec."
    assert suite.splitlines()[-1] == "3 passed, 0 failed"
    assert "quickstart" in (tmp_path / ".sipconf" / "state.db").read_bytes().decode("latin-1")


def _start(argv: list[str], cwd: Path, env: dict[str, str]):
    """The page's `sipconf up`, read until `ready`: (process, its exported LIVEKIT_* variables, SIP address)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.strip() == "ready":
            break
    export = next(line for line in lines if line.startswith("export "))
    exports = dict(part.split("=", 1) for part in export.split()[1:])
    sip = next(line for line in lines if line.startswith("sip: udp ")).split()[2]
    return proc, exports, sip
