"""Backup and restore of the embedded SQLite store, while the server runs.

A backup is taken with SQLite's online backup API inside one read transaction, so it is one
consistent moment of the store even while calls are being recorded, and it is verified before
it counts: the copy must pass `PRAGMA integrity_check` and hold as many rows in every table as
the store held in that same moment.

PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`); see the README.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_HEADER = b"SQLite format 3\x00"
# The byte of a WAL database's `-shm` file on which every open connection keeps a shared lock
# (SQLite's "dead man switch", os_unix.c); a running server holds it as long as it runs.
SHM_DEAD_MAN_SWITCH = 128
# A table only an offhook store has (Alembic's record of the schema's revision).
MARKER_TABLE = "alembic_version"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Copy:
    """A verified copy of the store."""

    path: Path
    size: int  # bytes
    rows: dict[str, int]  # rows per table

    @property
    def calls(self) -> int:
        return self.rows.get("calls", 0)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite store, or None when the store is not a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def default_backup_path(database: Path, now: datetime | None = None) -> Path:
    """`backups/<name>-<date>-<time>.sqlite` beside the store."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return database.parent / "backups" / f"{database.stem}-{stamp}.sqlite"


def backup(database: Path, target: Path) -> Copy:
    """Copy the store at `database` to `target` (a new file) and verify the copy."""
    if target.exists():
        raise BackupError(f"{target} exists already; choose another file name.")
    _check_database(database)
    partial = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot write to {target.parent}: {exc.strerror or exc}") from exc
    try:
        with _open(database, read_only=True) as source:
            # One read transaction: the counts and the copy see the same moment of the store.
            source.execute("BEGIN")
            rows = _row_counts(source)
            with _open(partial) as copy:
                source.backup(copy)
                # One self-contained file, without the -wal and -shm files of WAL mode.
                copy.execute("PRAGMA journal_mode=DELETE")
            source.rollback()
        # The copy holds the users' password hashes: as private as the store itself.
        partial.chmod(0o600)
        _verify(partial, rows)
        partial.rename(target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"could not back up {database} to {target}: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Copy(target, target.stat().st_size, rows)


def in_use(database: Path) -> bool:
    """Whether a program (an offhook server) has the store open right now."""
    shm = database.with_name(database.name + "-shm")
    try:
        handle = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DEAD_MAN_SWITCH)
    except OSError:
        return True
    else:
        fcntl.lockf(handle, fcntl.LOCK_UN, 1, SHM_DEAD_MAN_SWITCH)
        return False
    finally:
        os.close(handle)


@dataclass(frozen=True)
class Restored:
    copy: Copy
    aside: Path | None  # where the store that was replaced is kept


def restore(source: Path, database: Path, force: bool = False) -> Restored:
    """Make the backup `source` the store at `database`; the current store is kept aside.

    Refused while a server has `database` open, unless `force`: a server keeps writing to the
    file it opened, so it must be restarted after a forced restore.
    """
    rows = check_backup(source)
    if database.exists() and in_use(database) and not force:
        raise BackupError(
            f"{database} is in use by a running offhook server. Stop the server and restore "
            "again, or restore into a new file (--to NEW.sqlite) and start the server with "
            "OFFHOOK_DATABASE_URL=sqlite:///NEW.sqlite."
        )
    aside = None
    if database.exists():
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = backup(
            database, database.with_name(f"{database.stem}-before-restore-{stamp}.sqlite")
        )
        for suffix in ("-wal", "-shm", ""):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
    copy = backup(source, database)
    if copy.rows != rows:  # pragma: no cover - the backup is read in one transaction
        raise BackupError(f"{source} changed while it was restored; restore again.")
    return Restored(copy, aside.path if aside else None)


def check_backup(path: Path) -> dict[str, int]:
    """Refuse a file that is not an intact offhook store; returns its rows per table."""
    _check_database(path)
    try:
        with _open(path, read_only=True) as db:
            _integrity(db, path)
            rows = _row_counts(db)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be read as a SQLite database: {exc}") from exc
    if MARKER_TABLE not in rows:
        raise BackupError(f"{path} is a SQLite database, but not an offhook store.")
    return rows


def _check_database(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"there is no database at {path}.")
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path} is not a SQLite database.")


@contextlib.contextmanager
def _open(path: Path, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    mode = "ro" if read_only else "rwc"
    connection = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=10, isolation_level=None
    )
    try:
        connection.execute("PRAGMA busy_timeout=10000")
        yield connection
    finally:
        connection.close()


def _row_counts(db: sqlite3.Connection) -> dict[str, int]:
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in tables}
    return {
        name: int(db.execute(f"SELECT count(*) FROM {quoted[name]}").fetchone()[0])  # noqa: S608
        for name in tables
    }


def _integrity(db: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged: {'; '.join(problems[:5])}")


def _verify(path: Path, expected: dict[str, int]) -> None:
    with _open(path, read_only=True) as copy:
        _integrity(copy, path)
        found = _row_counts(copy)
    if found != expected:
        differ = sorted(
            t for t in expected.keys() | found.keys() if expected.get(t) != found.get(t)
        )
        raise BackupError(f"the copy differs from the store in the tables {', '.join(differ)}.")
