"""Fixtures for the simulator tests: a throwaway suite folder next to a copy of the demo spec,
and a local HTTP server for the tests that scrape one."""

from __future__ import annotations

import contextlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo"
LOAD = ROOT / "scenarios" / "load"

# A suite of one call for the demo spec, its secrets given in `env`.
DEMO_SUITE = """env: {DEMO_TWILIO_PASSWORD: t, DEMO_TELNYX_PASSWORD: t, DEMO_BOARD_PIN: "9876"}
scenarios:
  - name: support line
    driver: inproc
    call: {from: "+16505550111", to: "+15105550100", source: 127.0.0.11}
    expect: {status: 200}
"""


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    """A folder holding a copy of the demo spec (so scenario files there find it)."""
    shutil.copy(DEMO / "spec.yaml", tmp_path / "spec.yaml")
    return tmp_path


@contextlib.contextmanager
def serving(pages: dict[str, tuple[int, str]]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1, in a thread, answering a GET of a path in `pages` with its
    (status, body) and any other with 404; `pages` is read at each request, so a test may change
    it. Yields the server's base URL."""

    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = pages.get(self.path, (404, "not found"))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
