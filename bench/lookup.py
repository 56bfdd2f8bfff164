"""Caller lookup at scale: p50/p99 of exact, switchboard and miss lookups, beside a raw indexed
point query on the same table, in the same run.

    .venv/bin/python bench/lookup.py --db sqlite --addresses 1000000
    .venv/bin/python bench/lookup.py --db postgres --addresses 1000000

Builds a synthetic CRM (`offhook.intake.synthetic`, as `offhook demo-data` does) in a throw-away
database, then times each lookup the way the server answers GET /api/lookup: a session of the
store, `directory.lookup` on the parsed number; and the whole request path (a new session,
Settings > Telephony, parsing, lookup). The baseline is the cheapest question the same index
can answer: `SELECT id FROM channels WHERE e164 = ?` on the driver's own cursor, without
SQLAlchemy.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable

from bench_database import bench_database, fresh_store
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from offhook.directory.lookup import lookup
from offhook.intake.synthetic import create_synthetic_crm
from offhook.numbers import NumberingPlan, ParsedNumber, parse_incoming
from offhook.settings.telephony import SettingsCache, numbering_plan
from offhook.store import Store

PLAN = NumberingPlan.build(country="CH")
WARM_UP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=5000, help="per kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    with bench_database(args.db, keep=args.keep) as url:
        store = fresh_store(url)
        print(f"database: {args.db}, {args.addresses:,} addresses")
        started = time.perf_counter()
        summary = create_synthetic_crm(store, args.addresses, seed=args.seed)
        seconds = time.perf_counter() - started
        print(
            f"built in {seconds:.1f} s: {summary.numbers:,} phone numbers "
            f"({summary.channels:,} channels); {summary.addresses / seconds:,.0f} addresses/s"
        )
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        run(store, args.lookups, random.Random(args.seed))
        store.dispose()


def run(store: Store, count: int, rng: random.Random) -> None:
    exact, switchboard, miss = samples(store, count + WARM_UP, rng)
    print(
        f"timed lookups: {len(exact) - WARM_UP:,} exact, {len(switchboard) - WARM_UP:,} "
        f"switchboard, {len(miss) - WARM_UP:,} miss"
    )
    raw = store.engine.raw_connection()
    cursor = raw.cursor()
    mark = "?" if store.dialect == "sqlite" else "%s"
    point = f"SELECT id FROM channels WHERE e164 = {mark}"  # noqa: S608

    def raw_query(number: ParsedNumber) -> None:
        cursor.execute(point, (number.e164,))
        cursor.fetchall()

    session = store.sessions()
    session.begin()

    def in_session(number: ParsedNumber) -> None:
        lookup(session, number, "CH")

    def whole_request(number: ParsedNumber) -> None:
        # What GET /api/lookup does in its worker thread once the user is known: a session of
        # its own (a pooled connection, checked on checkout), the settings, parsing, lookup.
        with store.session() as request_session:
            settings = SettingsCache.get(request_session)
            plan = numbering_plan(settings)
            lookup(request_session, parse_incoming(number.input, plan), "CH")

    def whole_request_read_only(number: ParsedNumber) -> None:
        # The same since issue 13: `Store.read_only`, no ping, no BEGIN/COMMIT on PostgreSQL.
        def work(request_session: Session) -> None:
            settings = SettingsCache.get(request_session)
            plan = numbering_plan(settings)
            lookup(request_session, parse_incoming(number.input, plan), "CH")

        store.read_only(work)

    rows = [
        ("raw indexed point query (baseline)", raw_query, exact),
        ("lookup: exact", in_session, exact),
        ("lookup: switchboard", in_session, switchboard),
        ("lookup: miss", in_session, miss),
        ("whole request: exact", whole_request, exact),
        ("whole request: switchboard", whole_request, switchboard),
        ("whole request: miss", whole_request, miss),
        ("whole request, read only: exact", whole_request_read_only, exact),
        ("whole request, read only: switchboard", whole_request_read_only, switchboard),
        ("whole request, read only: miss", whole_request_read_only, miss),
    ]
    results = [(name, timings(work, numbers)) for name, work, numbers in rows]
    base_p50, base_p99 = results[0][1][0], results[0][1][1]
    print(f"\n{'':42} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p99 / baseline':>15}")
    for name, (p50, p99, worst) in results:
        ratio = f"{p99 / base_p99:,.1f}×" if base_p99 else "-"
        print(f"{name:42} {p50:8.3f} {p99:8.3f} {worst:8.3f} {ratio:>15}")
    print(
        "\nlookup: directory.lookup in an open session; whole request: a new session, the "
        "settings, parsing and lookup.\ntarget: lookup p99 ≤ 0.5 ms "
        f"(baseline p50 {base_p50:.3f} ms)"
    )
    session.close()
    cursor.close()
    raw.close()


def timings(
    work: Callable[[ParsedNumber], None], numbers: list[ParsedNumber]
) -> tuple[float, float, float]:
    warm, numbers = numbers[:WARM_UP], numbers[WARM_UP:]
    for number in warm:  # the connection pool, prepared statements: not the timed numbers
        work(number)
    gc.collect()
    spent = []
    for number in numbers:
        started = time.perf_counter_ns()
        work(number)
        spent.append((time.perf_counter_ns() - started) / 1e6)
    spent.sort()
    p99 = spent[min(len(spent) - 1, int(len(spent) * 0.99))]
    return statistics.median(spent), p99, spent[-1]


def samples(
    store: Store, count: int, rng: random.Random
) -> tuple[list[ParsedNumber], list[ParsedNumber], list[ParsedNumber]]:
    """Stored numbers; direct-dial numbers in stored blocks that are not stored; unknown numbers."""
    with store.engine.connect() as connection:
        last = connection.execute(text("SELECT max(id) FROM channels")).scalar_one()
        ids = rng.sample(range(1, last + 1), min(last, count * 4))
        found = connection.execute(
            text("SELECT e164, block_prefix FROM channels WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        ).all()
    exact = [parse_incoming(e164, PLAN) for e164, _ in found if e164][:count]
    heads = [block for _, block in found if block]
    switchboard: list[ParsedNumber] = []
    with store.session() as session:
        for block in heads:
            for _ in range(5):
                number = parse_incoming(block + f"{rng.randrange(10, 100)}", PLAN)
                matches = lookup(session, number)
                if matches and matches[0].match == "switchboard":
                    switchboard.append(number)
                    break
            if len(switchboard) == count:
                break
        miss: list[ParsedNumber] = []
        while len(miss) < count:
            # Sion (027) is not among the synthetic areas: these numbers exist but are unknown.
            number = parse_incoming(
                f"+41 27 {rng.randrange(200, 999)} {rng.randrange(1000, 9999)}", PLAN
            )
            if number.e164 and not lookup(session, number):
                miss.append(number)
    return exact, switchboard, miss


if __name__ == "__main__":
    main()
