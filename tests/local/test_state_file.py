"""The state file on disk: created owner-only and marked as sipconf's; an empty, truncated,
random or foreign file is refused at start in one line, never served as an empty project;
`--reset-state` moves it aside; a damaged stored object is skipped, not a failed list."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat

import aiohttp
import pytest
from livekit import api
from livekit.protocol import sip

from sipconf.local import store as state
from sipconf.local.server import ControlPlane
from sipconf.local.store import StateFileError, StateStore
from tests.local.up_process import run_up, start_up

KEY = "testkey"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write_state(path, trunks: int = 3, metadata: str = "") -> bytes:
    """A real state file holding `trunks` outbound trunks, checkpointed into the main file;
    returns its bytes."""
    store = StateStore(path)
    with store.write() as tx:
        for i in range(trunks):
            tx.put(state.OUTBOUND, sip.SIPOutboundTrunkInfo(sip_trunk_id=f"ST_{i:06d}", address="127.0.0.1",
                                                            numbers=[f"+1555{i:07d}"], auth_password="secret",
                                                            metadata=metadata))
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path.read_bytes()


def foreign_database(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('not sipconf')")
    conn.commit()
    conn.close()


def test_a_new_state_file_is_owner_only_and_marked_as_sipconfs(tmp_path):
    path = tmp_path / "new" / "state.db"
    old_umask = os.umask(0o022)  # a usual umask would make files world-readable
    try:
        async def main():
            async with ControlPlane(state_path=path, api_key=KEY, api_secret=SECRET) as cp:
                async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                    await lk.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(
                        numbers=["+15550100"], auth_username="u", auth_password="the-password")))
                files = sorted(p.name for p in path.parent.iterdir())
                assert files == ["state.db", "state.db-shm", "state.db-wal"]
                assert {name: mode(path.parent / name) for name in files} == dict.fromkeys(files, 0o600)

        asyncio.run(main())
    finally:
        os.umask(old_umask)
    conn = sqlite3.connect(path)
    marker = conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert marker == (state.APPLICATION_ID, state.SCHEMA_VERSION) == (0x53495043, 1)


def test_sipconf_up_refuses_a_file_that_is_not_a_sipconf_state_in_one_line(tmp_path):
    good = write_state(tmp_path / "good.db", trunks=200)
    cases = {
        "empty.db": (b"", "empty (0 bytes), not a sipconf state"),
        "truncated.db": (good[: len(good) // 2], "damaged (database disk image is malformed), so it cannot be used"),
        "random.db": (os.urandom(64 * 1024), "not a sipconf state (not an SQLite database)"),
        "foreign.db": (None, "not a sipconf state (an SQLite database of another application, application_id 0x0)"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        if content is None:
            foreign_database(path)
        else:
            path.write_bytes(content)
        before = path.read_bytes()
        proc = run_up(path)
        assert proc.returncode == 1, (name, proc.stderr)
        assert proc.stderr.splitlines() == [
            f"--state {path}: {reason}; `sipconf up --reset-state` moves it aside and starts with an empty state"
        ], name
        assert proc.stdout == "" and "Traceback" not in proc.stderr
        assert path.read_bytes() == before, f"{name} was changed"


@pytest.mark.parametrize("damage, reason", [
    ("short header", "truncated (50 bytes, shorter than an SQLite header)"),
    ("newer schema", "written by a newer sipconf (schema 2; this one reads up to 1)"),
    ("damaged page", "damaged (database disk image is malformed), so it cannot be used"),
    ("directory", "not a regular file"),
    ("orphan wal", "missing, but {path}-wal is still there (left from a deleted state)"),
])
def test_the_store_says_why_it_refuses_a_file(tmp_path, damage, reason):
    path = tmp_path / "state.db"
    if damage == "short header":
        path.write_bytes(write_state(path)[:50])
    elif damage == "newer schema":
        write_state(path)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 2")
        conn.commit()
        conn.close()
    elif damage == "damaged page":
        data = write_state(path, trunks=300)
        path.write_bytes(data[:8192] + bytes(range(256)) * 16 + data[8192 + 4096:])
    elif damage == "directory":
        path.mkdir()
    elif damage == "orphan wal":
        (tmp_path / "state.db-wal").write_bytes(b"left over")
    with pytest.raises(StateFileError) as info:
        StateStore(path)
    assert str(info.value) == f"state file {path}: " + reason.format(path=path)


def test_a_state_from_before_the_marker_is_kept_marked_and_made_owner_only(tmp_path, caplog):
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)  # what sipconf wrote before the marker: the objects table alone
    conn.execute("CREATE TABLE objects (kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, id))")
    trunk = sip.SIPOutboundTrunkInfo(sip_trunk_id="ST_kept", address="127.0.0.1")
    conn.execute("INSERT INTO objects VALUES (?, ?, ?)", (state.OUTBOUND, "ST_kept", trunk.SerializeToString()))
    conn.commit()
    conn.close()
    os.chmod(path, 0o644)
    with caplog.at_level(logging.INFO, logger="sipconf.local.store"):
        store = StateStore(path)
    assert store.all(state.OUTBOUND) == [trunk]
    assert store._conn.execute("PRAGMA application_id").fetchone()[0] == state.APPLICATION_ID
    store.close()
    assert mode(path) == 0o600
    assert [r.getMessage() for r in caplog.records] == [
        f"state file {path}: marked as a sipconf state (schema 1)",
        f"state file {path} was readable by others (mode 0644); it is now 0600, as it holds trunk passwords and PINs",
    ]


def test_a_damaged_object_is_left_out_of_lists_reported_once_and_counted(tmp_path, caplog):
    path = tmp_path / "state.db"
    write_state(path, trunks=3)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE objects SET body = ? WHERE id = 'ST_000001'", (b"\xff\xff\xff\xff",))
    conn.commit()
    conn.close()

    async def main():
        async with ControlPlane(state_path=path, api_key=KEY, api_secret=SECRET) as cp:
            async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                for _ in range(2):
                    listed = await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest())
                    assert [t.sip_trunk_id for t in listed.items] == ["ST_000000", "ST_000002"]
                async with aiohttp.ClientSession() as http:
                    async with http.get(cp.url + "/metrics") as resp:
                        assert "\nsipconf_state_damaged_objects 1\n" in await resp.text()
                # Deleting the damaged trunk through the API is how it goes away.
                await lk.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id="ST_000001"))
                assert len(cp.store.damaged.rows) == 0

    with caplog.at_level(logging.WARNING, logger="sipconf.local.store"):
        asyncio.run(main())
    warnings = [r.getMessage() for r in caplog.records if r.name == "sipconf.local.store"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"state file {path}: skipping damaged outbound trunk ST_000001 (its stored bytes"
                                  " do not decode: ")
    assert warnings[0].endswith("); it is left in the file, and deleting it through the API removes it")


def test_damage_found_while_serving_is_a_data_loss_error_not_an_empty_500(tmp_path):
    path = tmp_path / "state.db"
    # Larger than SQLite's default page cache (2 MB), so listing reads pages from the disk again.
    write_state(path, trunks=12000, metadata="m" * 300)
    assert path.stat().st_size > 4 * 1024 * 1024

    async def main():
        async with ControlPlane(state_path=path, api_key=KEY, api_secret=SECRET) as cp:
            with open(path, "r+b") as fh:
                fh.seek(8192)
                fh.write(bytes(range(256)) * 16 * 64)
            async with api.LiveKitAPI(cp.url, KEY, SECRET) as lk:
                with pytest.raises(api.TwirpError) as info:
                    await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest())
        return info.value

    err = asyncio.run(main())
    assert (err.code, err.status) == ("data_loss", 500)
    assert err.message == f"state file {path} is damaged: database disk image is malformed"


def test_reset_state_moves_the_old_file_aside_says_where_and_starts_fresh(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"")
    (tmp_path / "state.db-wal").write_bytes(b"wal of the old file")
    up = start_up(path, "--reset-state")
    try:
        moved = [line for line in up.lines if line.startswith("state: ")]
        assert len(moved) == 3, up.lines
        aside = moved[0].removeprefix(f"state: moved {path} aside to ")
        assert aside.startswith(f"{path}.old-") and moved[1] == f"state: moved {path}-wal aside to {aside}-wal"
        assert moved[2] == "state: starting with an empty state"
        assert (tmp_path / os.path.basename(aside)).read_bytes() == b""
        assert (tmp_path / (os.path.basename(aside) + "-wal")).read_bytes() == b"wal of the old file"

        async def use():
            async with api.LiveKitAPI(*up.credentials) as lk:
                await lk.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(
                    trunk=sip.SIPOutboundTrunkInfo(address="127.0.0.1", numbers=["+1"])))
                return await lk.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest())

        assert len(asyncio.run(use()).items) == 1
        out, err = up.stop()
        assert up.proc.returncode == 0, err
    finally:
        up.kill()
    assert mode(path) == 0o600
    store = StateStore(path)
    assert store.all(state.OUTBOUND)[0].numbers == ["+1"]
    store.close()


def test_reset_state_without_a_file_says_so(tmp_path):
    path = tmp_path / "fresh.db"
    up = start_up(path, "--reset-state")
    try:
        assert up.lines[0] == f"state: --reset-state: no state file at {path}, starting with an empty state"
        up.stop()
        assert up.proc.returncode == 0
    finally:
        up.kill()


def test_move_aside_never_overwrites_an_earlier_copy(tmp_path):
    path = tmp_path / "state.db"
    write_state(path)
    first = state.move_aside(path, now=0)
    write_state(path)
    second = state.move_aside(path, now=0)
    assert [new.name for _, new in first] == ["state.db.old-19700101T000000Z"]
    assert [new.name for _, new in second] == ["state.db.old-19700101T000000Z-2"]
    assert not path.exists()
