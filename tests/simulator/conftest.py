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


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    """A folder holding a copy of the demo spec (so scenario files there find it)."""
    shutil.copy(DEMO / "spec.yaml", tmp_path / "spec.yaml")
    return tmp_path


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering with `handler` in a thread; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
