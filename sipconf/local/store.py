"""Persistent trunks and dispatch rules: one SQLite file, surviving restarts.

Each object is stored as its protobuf bytes under (kind, id). Writers go through
`write()`, which holds one process-wide lock and an SQLite `BEGIN IMMEDIATE` transaction,
so the read-validate-insert sequence of a create is atomic even when another process
shares the file. WAL lets readers proceed while a write is open.

The file holds trunk passwords and PINs, so it is created readable by its owner only
(0600; SQLite gives its -wal and -shm files the same mode). It is marked as sipconf's with
SQLite's `application_id` and carries its schema version in `user_version`. Opening never
turns a file it does not recognise into an empty project: an empty, damaged or foreign
file is refused with `StateFileError` (see `check_file`), and `move_aside` is how a caller
starts fresh while keeping the old file. A stored object whose bytes no longer decode is
left out of every read and reported once (`damaged`), instead of failing the whole list.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from google.protobuf.message import DecodeError, Message
from livekit.protocol import sip

from sipconf.errors import UserError

log = logging.getLogger("sipconf.local.store")

INBOUND, OUTBOUND, RULE, LEGACY = "inbound_trunk", "outbound_trunk", "dispatch_rule", "legacy_trunk"

MESSAGE = {
    INBOUND: sip.SIPInboundTrunkInfo,
    OUTBOUND: sip.SIPOutboundTrunkInfo,
    RULE: sip.SIPDispatchRuleInfo,
    LEGACY: sip.SIPTrunkInfo,
}
ID_FIELD = {INBOUND: "sip_trunk_id", OUTBOUND: "sip_trunk_id", RULE: "sip_dispatch_rule_id", LEGACY: "sip_trunk_id"}

# SQLite's header field for "which application's file is this" (https://www.sqlite.org/fileformat.html,
# offset 68): "SIPC". A file made before the marker existed has 0 there and only the objects table.
APPLICATION_ID = 0x53495043
SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_HEADER_SIZE = 100
FILE_MODE = 0o600
COMPANIONS = ("-wal", "-shm")  # SQLite's WAL and shared-memory files beside the database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, id)
)
"""
_COLUMNS = ["kind", "id", "body"]


class StateFileError(UserError):
    """The state file exists but is not a usable sipconf state; `reason` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"state file {path}: {reason}")
        self.path = path
        self.reason = reason


class _Damaged:
    """Stored objects that do not decode: skipped by every read, each reported once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: set[tuple[str, str]] = set()

    def report(self, kind: str, obj_id: str, err: Exception) -> None:
        if (kind, obj_id) in self.rows:
            return
        self.rows.add((kind, obj_id))
        log.warning("state file %s: skipping damaged %s %s (its stored bytes do not decode: %s);"
                    " it is left in the file, and deleting it through the API removes it",
                    self.path, kind.replace("_", " "), obj_id, str(err) or type(err).__name__)


class _View:
    """Reads and writes on one connection; used directly for reads, inside `write()` for writes."""

    def __init__(self, conn: sqlite3.Connection, damaged: _Damaged) -> None:
        self._conn = conn
        self._damaged = damaged
        # Inside `write()`: the store's version when the transaction began, and once it
        # committed, the version it left (see StateStore.version).
        self.began: tuple[int, int] | None = None
        self.committed: tuple[int, int] | None = None

    def _decode(self, kind: str, obj_id: str, body: bytes) -> Message | None:
        try:
            return MESSAGE[kind].FromString(body)
        except (DecodeError, TypeError) as err:
            self._damaged.report(kind, obj_id, err)
            return None

    def all(self, kind: str) -> list[Message]:
        """Every object of `kind`, sorted by id (string order, as LiveKit lists); damaged ones
        are left out."""
        rows = self._conn.execute("SELECT id, body FROM objects WHERE kind = ? ORDER BY id", (kind,)).fetchall()
        decoded = (self._decode(kind, obj_id, body) for obj_id, body in rows)
        return [obj for obj in decoded if obj is not None]

    def get(self, kind: str, obj_id: str) -> Message | None:
        row = self._conn.execute("SELECT body FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).fetchone()
        return None if row is None else self._decode(kind, obj_id, row[0])

    def put(self, kind: str, obj: Message) -> None:
        obj_id = getattr(obj, ID_FIELD[kind])
        if not obj_id:
            raise ValueError(f"cannot store a {kind} without an id")
        self._conn.execute(
            "INSERT OR REPLACE INTO objects (kind, id, body) VALUES (?, ?, ?)", (kind, obj_id, obj.SerializeToString())
        )
        self._damaged.rows.discard((kind, obj_id))

    def delete(self, kind: str, obj_id: str) -> bool:
        deleted = self._conn.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).rowcount > 0
        self._damaged.rows.discard((kind, obj_id))
        return deleted



class StateStore(_View):
    """The SQLite state file. Reads see committed data; `write()` is the single writer.

    Opening creates a missing file (0600, marked as sipconf's) and checks an existing one:
    `StateFileError` when it is not a sipconf state or `PRAGMA integrity_check` finds damage."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        in_memory = str(path) == ":memory:"
        if not in_memory:
            try:
                check_file(self.path)
            except OSError as err:
                raise StateFileError(self.path, f"cannot use it ({err.strerror or err})") from None
        try:
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as err:
            raise StateFileError(self.path, f"cannot open it ({err})") from None
        try:
            if in_memory:
                _initialise(conn)
            else:
                _check_schema(conn, self.path)
                _owner_only(self.path)  # only once it is known to be ours
            conn.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives the
            # process being killed, and the file stays consistent through a power loss, which
            # may only undo the last commits. A full sync per write made a 1,000-object apply
            # spend most of the plane's time waiting for the disk.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as err:
            conn.close()
            raise StateFileError(self.path, f"damaged ({err}), so it cannot be used") from None
        except BaseException:
            conn.close()
            raise
        self.damaged = _Damaged(self.path)
        super().__init__(conn, self.damaged)
        self._lock = threading.RLock()
        for kind in MESSAGE:
            self.all(kind)  # damaged objects are reported at start, not at the first list

    @contextmanager
    def write(self) -> Iterator[_View]:
        """One atomic read-modify-write; commits on success, rolls back on any exception."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            view = _View(self._conn, self.damaged)
            # BEGIN IMMEDIATE holds SQLite's write lock, so no other connection commits until
            # this one does: the version read now is the one the transaction reads from.
            view.began = self._version_now()
            try:
                yield view
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            view.committed = self._version_now()

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
            return self._version_now()

    def _version_now(self) -> tuple[int, int]:
        return self._conn.total_changes, self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# -- opening ----------------------------------------------------------------------------------


def check_file(path: Path) -> None:
    """Create `path` when it is missing; otherwise make sure it is at least an SQLite file,
    owner-only. Raises `StateFileError` for anything else."""
    if not path.exists():
        if Path(f"{path}-wal").exists():
            # A WAL without its database would be replayed into the new file.
            raise StateFileError(path, f"missing, but {path}-wal is still there (left from a deleted state)")
        _create(path)
        return
    if not path.is_file():
        raise StateFileError(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise StateFileError(path, "empty (0 bytes), not a sipconf state")
    with path.open("rb") as fh:
        header = fh.read(SQLITE_HEADER_SIZE)
    if not header.startswith(SQLITE_MAGIC):
        raise StateFileError(path, "not a sipconf state (not an SQLite database)")
    if len(header) < SQLITE_HEADER_SIZE:
        raise StateFileError(path, f"truncated ({size} bytes, shorter than an SQLite header)")


def _create(path: Path) -> None:
    """A new, initialised state file, 0600 from its first byte. Built under a temporary name
    and linked into place, so no half-made file is ever seen at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
        os.close(fd)
        conn = sqlite3.connect(str(scratch), isolation_level=None)
        try:
            _initialise(conn)
        finally:
            conn.close()
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass  # another process created it meanwhile: theirs is checked like any file
    finally:
        scratch.unlink(missing_ok=True)


def _initialise(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute(_SCHEMA)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")


def _owner_only(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, FILE_MODE)
        log.warning("state file %s was readable by others (mode %04o); it is now %04o, as it holds trunk"
                    " passwords and PINs", path, mode, FILE_MODE)


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Ours (or a sipconf state from before the marker, which is marked now), not newer than
    this sipconf, and intact."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id == 0 and version == 0 and _unmarked_state(conn):
        _initialise(conn)
        log.info("state file %s: marked as a sipconf state (schema %d)", path, SCHEMA_VERSION)
    elif application_id != APPLICATION_ID:
        raise StateFileError(path, f"not a sipconf state (an SQLite database of another application,"
                                   f" application_id {application_id:#x})")
    elif version > SCHEMA_VERSION:
        raise StateFileError(path, f"written by a newer sipconf (schema {version}; this one reads"
                                   f" up to {SCHEMA_VERSION})")
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check(5)").fetchall()]
    if problems != ["ok"]:
        raise StateFileError(path, f"damaged (integrity check: {problems[0]}), so it cannot be used")


def _unmarked_state(conn: sqlite3.Connection) -> bool:
    """Exactly the objects table and nothing else: what sipconf wrote before the marker."""
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if tables != ["objects"]:
        return False
    return [row[1] for row in conn.execute("PRAGMA table_info(objects)")] == _COLUMNS


# -- starting fresh ---------------------------------------------------------------------------


def move_aside(path: Path, now: float | None = None) -> list[tuple[Path, Path]]:
    """Rename the state file and its -wal/-shm files to `<name>.old-<UTC time>` (plus the
    same suffixes, so the old file still opens with its WAL). Returns (old, new) per file
    moved; nothing when there was no file."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    names = [path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)]
    present = [name for name in names if name.exists() or name.is_symlink()]
    if not present:
        return []
    base, attempt = path.with_name(f"{path.name}.old-{stamp}"), 1
    while any(Path(f"{base}{suffix}").exists() for suffix in ("", *COMPANIONS)):
        attempt += 1
        base = path.with_name(f"{path.name}.old-{stamp}-{attempt}")
    moved = []
    for name in present:
        target = Path(f"{base}{name.name[len(path.name):]}")
        name.rename(target)
        moved.append((name, target))
    return moved
