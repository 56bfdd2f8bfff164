"""Throw-away databases for the benchmarks: a SQLite file, or a PostgreSQL database created on
the server the tests use and dropped afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from offhook.store import Store

PG_ADMIN = os.environ.get("OFFHOOK_BENCH_PG", "postgresql://127.0.0.1:5432/test")


@contextmanager
def bench_database(kind: str, keep: bool = False) -> Iterator[str]:
    """The URL of a new, empty database of `kind` ("sqlite" or "postgres"), removed at the end."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="offhook-bench-"))
        try:
            yield f"sqlite:///{folder / 'bench.sqlite'}"
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"offhook_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_store(url: str) -> Store:
    store = Store(url)
    store.migrate()
    return store
