"""Group commit: call events recorded per second, one per transaction against batches.

Runs the server's recorder (`offhook.lines.running.Lines`, in this process, with a journal hub
that has no streams) over a burst of call events: `--calls` calls on `--lines` lines, each
ringing, answered and ended (three events), all queued at once as a busy phone system would
report them. It records the burst three times on fresh stores: with batches of one event (what
the server did before issue 13: one transaction per event), with the recorder's batches, and
with the recorder's batches without keeping the charts' sums of calls (`offhook.calls.day_sums`,
issue 14: what keeping them costs). Each includes the caller lookup of every call and the
journal entries read back for the push.

    .venv/bin/python bench/recorder.py --db sqlite
    .venv/bin/python bench/recorder.py --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from offhook.calls import day_sums
from offhook.calls.events import CallEvent, CallState, Direction
from offhook.journal.push import JournalHub
from offhook.lines import running
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store

PG = "postgresql://127.0.0.1:5432"


def fresh_store(kind: str, directory: Path) -> tuple[Store, str | None]:
    if kind == "sqlite":
        return Store(f"sqlite:///{directory / f'{uuid.uuid4().hex}.sqlite'}"), None
    name = f"offhook_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return Store(f"postgresql+psycopg://127.0.0.1:5432/{name}"), name


def burst(store: Store, lines: int, calls: int) -> list[CallEvent]:
    store.migrate()
    with store.session() as session:
        install_driver(session, "simulator", auto_load=False)
        pbx = add_phone_system(session, "simulator", "bench PBX")
        user = add_user(session, "bench", "Bench", "bench-password-1")
        line_ids = []
        for n in range(lines):
            line = add_line(session, user, pbx, str(100 + n))
            session.flush()
            line_ids.append(line.id)
    events = []
    for state in (CallState.RINGING, CallState.CONNECTED, CallState.ENDED):
        for n in range(calls):
            events.append(
                CallEvent(
                    line_ids[n % lines],
                    f"bench-{n}",
                    Direction.INCOMING,
                    state,
                    remote_number=f"+4144668{n % 10000:04d}",
                )
            )
    return events


async def record(store: Store, events: list[CallEvent]) -> tuple[float, int]:
    lines = running.Lines(store, JournalHub())
    await lines.start()
    started = time.perf_counter()
    for event in events:
        lines.enqueue(event)
    await lines.flush()
    elapsed = time.perf_counter() - started
    await lines.stop()
    return len(events) / elapsed, lines.commits


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=200)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="offhook-recorder-"))
    results = []
    batch_max = running.BATCH_MAX
    runs = (
        ("one event per transaction (baseline)", 1, True),
        ("batches", batch_max, True),
        ("batches, sums of calls not kept", batch_max, False),
    )
    for label, size, sums in runs:
        running.BATCH_MAX = size
        _keep_sums(sums)
        store, database = fresh_store(args.db, directory)
        try:
            events = burst(store, args.lines, args.calls)
            rate, commits = asyncio.run(record(store, events))
            results.append((label, rate, commits, len(events)))
        finally:
            store.dispose()
            if database:
                with psycopg.connect(f"{PG}/test", autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(f"\n{args.calls} calls on {args.lines} lines, 3 events each, store {args.db}")
    for label, rate, commits, count in results:
        print(f"{label:40} {rate:8.0f} events/s  ({count} events in {commits} transactions)")
    print(f"batches / baseline: {results[1][1] / results[0][1]:.1f}×")
    print(f"batches with sums / without: {results[1][1] / results[2][1]:.2f}×")


def _keep_sums(keep: bool) -> None:
    """Keep the sums of calls at each flush (as offhook does), or not (the cost's baseline)."""
    hooks = (("before_flush", day_sums._note), ("before_commit", day_sums._keep))
    for name, hook in hooks:
        if keep and not sa_event.contains(Session, name, hook):
            sa_event.listen(Session, name, hook)
        elif not keep and sa_event.contains(Session, name, hook):
            sa_event.remove(Session, name, hook)


if __name__ == "__main__":
    main()
