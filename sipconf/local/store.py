"""Persistent trunks and dispatch rules: one SQLite file, surviving restarts.

Each object is stored as its protobuf bytes under (kind, id). Writers go through
`write()`, which holds one process-wide lock and an SQLite `BEGIN IMMEDIATE` transaction,
so the read-validate-insert sequence of a create is atomic even when another process
shares the file. WAL lets readers proceed while a write is open.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from google.protobuf.message import Message
from livekit.protocol import sip

INBOUND, OUTBOUND, RULE, LEGACY = "inbound_trunk", "outbound_trunk", "dispatch_rule", "legacy_trunk"

MESSAGE = {
    INBOUND: sip.SIPInboundTrunkInfo,
    OUTBOUND: sip.SIPOutboundTrunkInfo,
    RULE: sip.SIPDispatchRuleInfo,
    LEGACY: sip.SIPTrunkInfo,
}
ID_FIELD = {INBOUND: "sip_trunk_id", OUTBOUND: "sip_trunk_id", RULE: "sip_dispatch_rule_id", LEGACY: "sip_trunk_id"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, id)
)
"""


class _View:
    """Reads and writes on one connection; used directly for reads, inside `write()` for writes."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def all(self, kind: str) -> list[Message]:
        """Every object of `kind`, sorted by id (string order, as LiveKit lists)."""
        rows = self._conn.execute("SELECT body FROM objects WHERE kind = ? ORDER BY id", (kind,)).fetchall()
        return [MESSAGE[kind].FromString(body) for (body,) in rows]

    def get(self, kind: str, obj_id: str) -> Message | None:
        row = self._conn.execute("SELECT body FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).fetchone()
        return None if row is None else MESSAGE[kind].FromString(row[0])

    def put(self, kind: str, obj: Message) -> None:
        obj_id = getattr(obj, ID_FIELD[kind])
        if not obj_id:
            raise ValueError(f"cannot store a {kind} without an id")
        self._conn.execute(
            "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)", (kind, obj_id, obj.SerializeToString())
        )

    def delete(self, kind: str, obj_id: str) -> bool:
        return self._conn.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).rowcount > 0


def _make_private(path: Path) -> None:
    """The state file holds trunk passwords and PINs: owner-only (0600) before SQLite opens it,
    which gives its -wal and -shm files the same mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


class StateStore(_View):
    """The SQLite state file. Reads see committed data; `write()` is the single writer."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            _make_private(self.path)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(_SCHEMA)
        super().__init__(conn)
        self._lock = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[_View]:
        """One atomic read-modify-write; commits on success, rolls back on any exception."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _View(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def all(self, kind: str) -> list[Message]:
        with self._lock:
            return super().all(kind)

    def get(self, kind: str, obj_id: str) -> Message | None:
        with self._lock:
            return super().get(kind, obj_id)

    def version(self) -> tuple[int, int] | None:
        """Cheap: a value that differs whenever stored objects may have changed (this
        connection's `total_changes`, and SQLite's `data_version`, which moves on commits by
        other connections), so readers can cache what they built from `all()`. None while a
        write is open on this connection: its changes may still roll back."""
        with self._lock:
            if self._conn.in_transaction:
                return None
            return self._conn.total_changes, self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
