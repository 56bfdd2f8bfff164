"""Opening the store: engine, sessions and migrations."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")

T = TypeVar("T")


class StoreError(Exception):
    """The store cannot be opened or migrated; the message says what to do."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the journal read while a call event is written; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, pool_pre_ping=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_reader(url: str, engine: Engine) -> Engine:
    """The engine for work that only reads and must be quick (a caller lookup for a PBX).

    On PostgreSQL its connections are in autocommit mode and are not pinged on checkout: a
    read is then one round trip instead of four (ping, BEGIN, the query, COMMIT). A connection
    that died while idle fails its first statement instead, and `Store.read_only` reads again
    on a fresh one. SQLite has no round trips to save: the same engine.
    """
    if make_url(url).get_backend_name() == "sqlite":
        return engine
    return create_engine(
        url,
        pool_pre_ping=False,
        pool_size=5,
        max_overflow=15,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,  # autocommit: no transaction to end
    )


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# Alembic narrates every step at INFO ("Context impl SQLiteImpl." …); one line of ours says
# what an administrator needs to know, and only when there is something to do.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to run on every start."""
    try:
        with engine.begin() as connection:
            cfg = _alembic_config(engine)
            cfg.attributes["connection"] = connection
            current = MigrationContext.configure(connection).get_current_revision()
            head = ScriptDirectory.from_config(cfg).get_current_head()
            if current == head:
                return
            if current is None:
                log.info("setting up a new database (schema version %s)", head)
            else:
                log.info("updating the database schema from version %s to %s", current, head)
            with warnings.catch_warnings():
                # SQLite: a batch migration of a table reflects the tables it refers to, and
                # SQLAlchemy cannot reflect the address list's expression indexes. Those tables
                # are only read, never rebuilt, so their indexes stay; the warning would only
                # alarm whoever starts offhook.
                warnings.filterwarnings(
                    "ignore", "Skipped unsupported reflection of expression-based index"
                )
                command.upgrade(cfg, "head")
    except Exception as exc:
        raise StoreError(
            f"could not prepare the database at {engine.url.render_as_string(hide_password=True)}:"
            f" {exc}"
        ) from exc


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


class Store:
    """The database of one offhook installation."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reader = make_reader(url, self.engine)
        self._reading = sessionmaker(self.reader, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def read(self, work: Callable[[Session], T]) -> T:
        """Run a unit of work that only reads, retried once if the database dropped the
        connection under it.

        The pool tests each connection before handing it out (`pool_pre_ping`), which covers a
        connection that died while idle; one that dies during the work (PostgreSQL restarted,
        the backend terminated) fails the statement. A read is safe to repeat, and the retry
        gets a fresh connection: the pool discards the dead one and every other connection
        made before it.
        """
        try:
            with self.session() as session:
                return work(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.warning("the database dropped a connection during a read; reading again")
        with self.session() as session:
            return work(session)

    def read_only(self, work: Callable[[Session], T]) -> T:
        """Run a unit of work that only reads, on the quick engine (see `make_reader`): no
        transaction of its own on PostgreSQL, so each statement sees what is committed when it
        runs. Read again once if the connection turned out dead."""
        try:
            with self._reading() as session:
                return work(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.info("a pooled database connection had died; reading again")
        with self._reading() as session:
            return work(session)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()
