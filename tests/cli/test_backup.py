"""`offhook backup` and `offhook restore`: online, during a burst of calls, verified; damaged and
foreign files refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.settings.users import create_token, find_user
from offhook.store import Store
from offhook.store.backup import BackupError, backup, check_backup, restore, sqlite_file
from tests import factories
from tests.livesite import live_server


def offhook_cli(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OFFHOOK_DATABASE_URL": f"sqlite:///{database}", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "offhook", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


CALLS = "SELECT id, call_ref, state FROM calls ORDER BY id"
ADDRESSES = "SELECT id, first_name, last_name, company_name FROM addresses ORDER BY id"


def test_backup_during_a_call_burst_and_restore_into_a_new_file(
    sqlite_store: Store, tmp_path: Path
) -> None:
    database = sqlite_file(sqlite_store.url)
    assert database is not None
    factories.user_with_line(sqlite_store)
    factories.address(sqlite_store)
    with sqlite_store.session() as session:
        user = find_user(session, "anna")
        assert user is not None
        token = create_token(session, user)
    stop = threading.Event()
    placed: list[int] = []

    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:

        def burst() -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
                while not stop.is_set():
                    answer = c.post(
                        "/api/drivers/simulator/calls",
                        json={"number": "044 668 18 12", "outcome": "missed", "ring_seconds": 0},
                    )
                    assert answer.status_code == 200, answer.text
                    placed.append(1)

        caller = threading.Thread(target=burst)
        caller.start()
        try:
            while len(placed) < 5:  # the burst is under way
                stop.wait(0.02)
            made = offhook_cli(database, "backup", str(tmp_path / "safe.sqlite"))
            refused = offhook_cli(database, "restore", str(tmp_path / "safe.sqlite"))
        finally:
            stop.set()
            caller.join(30)

    assert made.returncode == 0, made.stderr
    assert "safe.sqlite" in made.stdout and "KB" in made.stdout
    # The store is in use by the server: restoring over it is refused, with the way out.
    assert refused.returncode == 1
    assert "in use by a running offhook server" in refused.stderr and "--to" in refused.stderr

    backed_up = rows(tmp_path / "safe.sqlite", CALLS)
    assert 0 < len(backed_up) <= len(rows(database, CALLS))
    restored = offhook_cli(
        database, "restore", str(tmp_path / "safe.sqlite"), "--to", str(tmp_path / "new.sqlite")
    )
    assert restored.returncode == 0, restored.stderr
    assert "OFFHOOK_DATABASE_URL=sqlite:///" in restored.stdout
    assert rows(tmp_path / "new.sqlite", CALLS) == backed_up
    assert rows(tmp_path / "new.sqlite", ADDRESSES) == rows(database, ADDRESSES)
    # And offhook runs on the restored file.
    store = Store(f"sqlite:///{tmp_path / 'new.sqlite'}")
    store.migrate()
    store.dispose()


def test_restore_keeps_the_replaced_store_aside(sqlite_store: Store, tmp_path: Path) -> None:
    database = sqlite_file(sqlite_store.url)
    assert database is not None
    copy = backup(database, tmp_path / "before.sqlite")
    factories.user_with_line(sqlite_store)
    sqlite_store.dispose()
    restored = restore(copy.path, database)
    assert restored.aside is not None
    assert check_backup(restored.aside)["users"] == 1
    assert check_backup(database)["users"] == 0


def test_a_damaged_or_foreign_file_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    database = sqlite_file(sqlite_store.url)
    assert database is not None
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database\n" * 100)
    with pytest.raises(BackupError, match="is not a SQLite database"):
        restore(text, tmp_path / "target.sqlite")

    damaged = tmp_path / "damaged.sqlite"
    copy = backup(database, tmp_path / "good.sqlite")
    data = bytearray(copy.path.read_bytes())
    for offset in range(4096 + 200, len(data), 4096):  # scribble over every page but the first
        data[offset : offset + 64] = b"\xff" * 64
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"damaged|cannot be read"):
        restore(damaged, tmp_path / "target.sqlite")

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="not an offhook store"):
        restore(foreign, tmp_path / "target.sqlite")
    assert not (tmp_path / "target.sqlite").exists()

    answer = offhook_cli(database, "restore", str(text))
    assert answer.returncode == 1 and "is not a SQLite database" in answer.stderr


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    env = {**os.environ, "OFFHOOK_DATABASE_URL": "postgresql+psycopg://127.0.0.1/nothing"}
    answer = subprocess.run(
        [sys.executable, "-m", "offhook", "backup"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 1 and "pg_dump -Fc" in answer.stderr
