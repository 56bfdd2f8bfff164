"""Shared fixtures: real stores (a SQLite file and a PostgreSQL database), real apps."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from offhook.settings.telephony import SettingsCache
from offhook.store import Store

PG_ADMIN = os.environ.get("OFFHOOK_TEST_PG", "postgresql://127.0.0.1:5432/test")


def _pg_url(database: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database to copy per test (CREATE DATABASE … TEMPLATE)."""
    try:
        admin = _pg_admin()
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN} ({exc}). Start it with "
            "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'."
        )
    name = f"offhook_tmpl_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    store = Store(_pg_url(name))
    store.migrate()
    store.dispose()
    yield name
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    SettingsCache.invalidate()
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "offhook.sqlite"
        shutil.copy(template, path)
        store = Store(f"sqlite:///{path}")
        yield store
        store.dispose()
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"offhook_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    store = Store(_pg_url(name))
    yield store
    store.dispose()
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    SettingsCache.invalidate()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store: once on SQLite, once on PostgreSQL."""
    yield from make_store(request.param, tmp_path, request)


@pytest.fixture
def sqlite_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty SQLite store, for tests where the database does not matter."""
    yield from make_store("sqlite", tmp_path, request)
