"""Which server runs which phone system: a lease per phone system, held in PostgreSQL.

Two servers attached to one Asterisk or one softphone would both report every call and both
act on it. So with several servers on one database each phone system is run by exactly one of
them: the one holding its lease. A lease is a PostgreSQL session-level advisory lock, taken on
a connection kept for nothing else: PostgreSQL itself decides who holds it (no consensus of
our own), and it ends with the connection. When the holder dies, even by kill -9, its
connection closes and PostgreSQL releases the lock at once; the other servers try to take free
leases every `POLL_SECONDS`, so a phone system is running again within a few seconds.

The holder checks its connection every `POLL_SECONDS` too. If the connection is lost,
PostgreSQL has released (or will release) every lock on it. The holder asks for them again at
once on a new connection: those it gets back keep running without a gap (a dropped connection,
a PostgreSQL restart or a killed backend loses no call), and those another server took in
between, or all of them when PostgreSQL cannot be reached, are stopped at once rather than
run beside their new holder.

SQLite is one server's database (a file on that server): every lease is trivially held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

#: How often free leases are tried and the held ones checked. A dead holder's phone systems
#: run again within about this long (plus the driver's start).
POLL_SECONDS = 2.0
#: The first key of offhook's advisory locks (the second is the phone system's id), so that
#: they do not meet other applications' locks in the same database.
LOCK_CLASS = 0x0FF400C
#: Tries to take lost leases again, and the pause between them (under a second in all; a
#: lease another server takes meanwhile is its own, and this server stops that phone system).
RETAKE_ATTEMPTS = 3
RETAKE_PAUSE = 0.3


class Leases:
    """Leases of a single server: every phone system is its own (SQLite)."""

    shared = False

    def __init__(self) -> None:
        self.held: set[int] = set()
        #: Told which phone systems this server lost (their lease ended under it).
        self.on_lost: Callable[[set[int]], None] = lambda lost: None

    async def start(self) -> None:
        pass

    async def acquire(self, system_id: int) -> bool:
        self.held.add(system_id)
        return True

    async def release(self, system_id: int) -> None:
        self.held.discard(system_id)

    async def check(self) -> None:
        """Make sure the held leases are still held (see `PostgresLeases`)."""

    async def close(self) -> None:
        self.held.clear()


class PostgresLeases(Leases):
    """Leases as advisory locks on a dedicated PostgreSQL connection."""

    shared = True

    def __init__(self, database_url: str) -> None:
        super().__init__()
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._retaking: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await self._connect()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        if self._connection is None:
            # Keepalives: a holder cut off from PostgreSQL without a reset notices within
            # seconds, as PostgreSQL does on its side.
            self._connection = await psycopg.AsyncConnection.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=5,
                application_name="offhook leases",
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
            )
        return self._connection

    async def _ask(self, sql: str, *params: int) -> Any:
        async with self._lock:
            try:
                connection = await self._connect()
                async with asyncio.timeout(5):
                    cursor = await connection.execute(sql, params)
                    row = await cursor.fetchone()
                return row[0] if row else None
            except Exception:
                self._lost()
                raise

    def _lost(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().create_task(connection.close())
        lost, self.held = self.held, set()
        if lost:
            # Not now: this runs under `_lock`, which asking again needs.
            task = asyncio.get_running_loop().create_task(self._take_again(lost))
            self._retaking.add(task)
            task.add_done_callback(self._retaking.discard)

    async def _take_again(self, lost: set[int]) -> None:
        """Ask again for the leases that ended with the connection; stop what is gone."""
        kept: set[int] = set()
        for attempt in range(RETAKE_ATTEMPTS):
            kept = set()
            try:
                for system_id in sorted(lost):
                    if await self._ask(
                        "SELECT pg_try_advisory_lock(%s, %s)", LOCK_CLASS, system_id
                    ):
                        kept.add(system_id)
                break
            except Exception:
                # The new connection failed too, and any lease taken on it with it: a
                # PostgreSQL that drops connections one after another gets a few tries.
                kept = set()
                if attempt + 1 < RETAKE_ATTEMPTS:
                    await asyncio.sleep(RETAKE_PAUSE)
        self.held |= kept
        gone = lost - kept
        if kept:
            log.warning(
                "the connection that holds this server's phone systems was lost; %d of them "
                "taken again on a new one, running on",
                len(kept),
            )
        if gone:
            log.warning(
                "lost the connection that holds this server's phone systems: stopping %d of "
                "them, another server takes them over",
                len(gone),
            )
            self.on_lost(gone)

    async def acquire(self, system_id: int) -> bool:
        if system_id in self.held:
            return True
        try:
            got = await self._ask("SELECT pg_try_advisory_lock(%s, %s)", LOCK_CLASS, system_id)
        except Exception as exc:
            log.debug("could not ask for the lease of phone system %s: %s", system_id, exc)
            return False
        if got:
            self.held.add(system_id)
        return bool(got)

    async def release(self, system_id: int) -> None:
        if system_id not in self.held:
            return
        self.held.discard(system_id)
        with contextlib.suppress(Exception):
            await self._ask("SELECT pg_advisory_unlock(%s, %s)", LOCK_CLASS, system_id)

    async def check(self) -> None:
        if not self.held:
            return
        with contextlib.suppress(Exception):
            await self._ask("SELECT 1")

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self.held.clear()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


def leases_for(database_url: str) -> Leases:
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresLeases(database_url)
    return Leases()
