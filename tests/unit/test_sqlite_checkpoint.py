"""The local database checkpoints its WAL from a thread of its own, not in the loop's commits."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from motia_runtime.adapters.sqlite.db import FALLBACK_AUTOCHECKPOINT_PAGES, Database


def _rows_in_main_file(db_path: Path, tmp: Path) -> int | None:
    """Rows visible in the database file alone, without its WAL: only what a checkpoint copied.
    None when the copy caught a checkpoint half-way through writing the file (torn: read again)."""
    copy = tmp / "copy.db"
    shutil.copyfile(db_path, copy)
    conn = sqlite3.connect(copy)
    try:
        return int(conn.execute("SELECT count(*) FROM state").fetchone()[0])
    except sqlite3.OperationalError:  # not even the schema has been copied yet
        return 0
    except sqlite3.DatabaseError:  # "malformed": the background checkpoint was writing the file
        return None
    finally:
        conn.close()


def test_commits_reach_the_database_file_through_the_background_checkpoint(tmp_path: Path) -> None:
    db = Database(tmp_path / "motia.db", checkpoint_every_s=0.05)
    try:
        assert db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FALLBACK_AUTOCHECKPOINT_PAGES
        for i in range(1500):  # more pages than SQLite's default threshold of 1,000
            db.conn.execute("INSERT INTO state VALUES ('g', ?, ?, 0)", (f"k{i}", "x" * 200))
        deadline = time.monotonic() + 10
        rows = _rows_in_main_file(tmp_path / "motia.db", tmp_path)
        while rows != 1500 and time.monotonic() < deadline:
            time.sleep(0.05)
            rows = _rows_in_main_file(tmp_path / "motia.db", tmp_path)
        assert rows == 1500
        assert db.checkpoints > 0
    finally:
        db.close()
    assert db._checkpointer is not None and not db._checkpointer.is_alive()


def test_without_the_thread_the_loops_commits_would_not_checkpoint_before_the_fallback(tmp_path: Path) -> None:
    db = Database(tmp_path / "motia.db", checkpoint_every_s=3600)  # the thread never gets to run
    try:
        for i in range(1500):
            db.conn.execute("INSERT INTO state VALUES ('g', ?, ?, 0)", (f"k{i}", "x" * 200))
        assert _rows_in_main_file(tmp_path / "motia.db", tmp_path) == 0
    finally:
        db.close()


def test_an_in_memory_database_has_no_checkpoint_thread() -> None:
    db = Database(":memory:")
    assert db._checkpointer is None
    db.close()


def _wal_salts(db_path: Path) -> bytes:
    """The WAL header's salts: SQLite draws new ones each time it starts the WAL over."""
    with open(f"{db_path}-wal", "rb") as wal:
        return wal.read(32)[16:24]


def test_the_checkpoint_starts_the_next_wal_so_the_loops_commit_does_not(tmp_path: Path) -> None:
    """In synchronous=NORMAL the first commit after a complete checkpoint starts the WAL over and
    fsyncs its header: the background round makes that commit itself, so a commit on the loop
    appends to a WAL already started (same salts) and the rows are in the database file."""
    path = tmp_path / "motia.db"
    db = Database(path, checkpoint_every_s=3600)  # rounds run only when the test asks
    try:
        for i in range(50):
            db.conn.execute("INSERT INTO state VALUES ('g', ?, ?, 0)", (f"k{i}", "x" * 200))
        assert db.checkpoint() is True
        assert _rows_in_main_file(path, tmp_path) == 50
        # Nothing new from the loop: the next round copies nothing, not even its own write (which
        # would start the WAL over again, round after round).
        assert db.checkpoint() is False
        started = _wal_salts(path)
        db.conn.execute("INSERT INTO state VALUES ('g', 'after', 'x', 0)")
        assert _wal_salts(path) == started
        assert db.checkpoint() is True
    finally:
        db.close()


def test_a_closed_database_checkpoints_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "motia.db", checkpoint_every_s=3600)
    db.conn.execute("INSERT INTO state VALUES ('g', 'k', 'v', 0)")
    db.close()
    assert db.checkpoint() is False
