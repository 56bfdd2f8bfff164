"""Unbilled calls at a firm's scale: p50/p99 of the unbilled-calls page's query and of each
chart's query, on a year of calls of 200 users (about a million calls), beside a raw indexed
query on the same table, in the same run.

    .venv/bin/python bench/unbilled.py --db sqlite
    .venv/bin/python bench/unbilled.py --db postgres

Builds a synthetic CRM and call history (`offhook.intake.synthetic`, `.synthetic_calls`, what
`offhook demo-data --call-users 200` writes) in a throw-away database, runs ANALYZE, then times
what the pages run once the user is known, each in a session of the store: one page of the
list (`offhook.crm.unbilled.unbilled`), the figures of each chart and of all of them (the charts
page; `offhook.crm.call_figures`, read from the sums of calls), for one user and for the whole
firm; with `--counted` also the firm's charts counted from the calls, as before the sums
(`offhook.store.call_sums`). The baseline is the
cheapest question the calls' index answers: the newest 51 call ids of one line, on the
driver's own cursor; and, as the list shows the same journal entries, the first page of the
same user's call history (`offhook.crm.calls.history`, the Calls page).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from bench_database import bench_database, fresh_store
from sqlalchemy import select
from sqlalchemy.orm import Session

from offhook.crm import call_figures as figures
from offhook.crm import calls, unbilled
from offhook.intake.synthetic import create_synthetic_crm
from offhook.intake.synthetic_calls import create_synthetic_calls
from offhook.settings.telephony import TelephonySettings
from offhook.store import Store
from offhook.store.models import Call, Line

WARM_UP = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=40, help="timed runs of each query")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--build-only", action="store_true", help="build, keep, do not time")
    parser.add_argument("--url", help="time an existing database built with --keep")
    parser.add_argument(
        "--firm-year", action="store_true", help="also the firm's charts of a whole year"
    )
    parser.add_argument(
        "--counted",
        action="store_true",
        help="also the firm's charts counted from the calls (before the sums; seconds each)",
    )
    args = parser.parse_args()
    if args.url:
        store = Store(args.url)
        with store.session() as session:
            last = session.scalar(select(Call.started_at).order_by(Call.started_at.desc()))
        assert last is not None, "no calls in that database"
        run(store, last.date(), args.runs, random.Random(args.seed), args.firm_year, args.counted)
        store.dispose()
        return
    with bench_database(args.db, keep=args.keep or args.build_only) as url:
        store = fresh_store(url)
        print(f"database: {args.db}")
        started = time.perf_counter()
        create_synthetic_crm(store, args.addresses, seed=args.seed)
        end = datetime.now(UTC).date() - timedelta(days=1)
        summary = create_synthetic_calls(
            store, args.users, days=365, calls=args.calls, end=end, seed=args.seed
        )
        print(
            f"built in {time.perf_counter() - started:.0f} s: {args.addresses:,} addresses, "
            f"{summary.users} users, {summary.calls:,} calls, {summary.services:,} services "
            f"from calls, {summary.not_billable:,} marked not billable"
        )
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        if args.keep or args.build_only:
            print(f"kept: {url}")
        if args.build_only:
            return
        run(store, end, args.runs, random.Random(args.seed), args.firm_year, args.counted)
        store.dispose()


def run(
    store: Store, end: date, runs: int, rng: random.Random, firm_year: bool, counted: bool
) -> None:
    with store.session() as session:
        settings = TelephonySettings.load(session)
        lines = list(session.execute(select(Line.id, Line.user_id).order_by(Line.id)))
    line_id, user_id = rng.choice(lines)
    quarter = figures.default_period(end)
    year = (end - timedelta(days=364), end)

    raw = store.engine.raw_connection()
    cursor = raw.cursor()
    mark = "?" if store.dialect == "sqlite" else "%s"
    newest = f"SELECT id FROM calls WHERE line_id = {mark} ORDER BY started_at DESC LIMIT 51"  # noqa: S608

    def baseline(_: Session) -> object:
        cursor.execute(newest, (line_id,))
        return cursor.fetchall()

    def listing(whose: int | None, **filters: object) -> Callable[[Session], object]:
        flt = unbilled.UnbilledFilter(whose, **filters)  # type: ignore[arg-type]
        return lambda session: unbilled.unbilled(session, flt, settings, 1)

    def chart(
        name: str, whose: int | None, period: tuple[date, date]
    ) -> Callable[[Session], object]:
        flt = figures.FiguresFilter(whose, *period)
        function = getattr(figures, name)
        return lambda session: function(session, flt, settings)

    with store.session() as session:
        address_id = session.scalar(
            select(Call.address_id)
            .join(Line, Line.id == Call.line_id)
            .where(Line.user_id == user_id, Call.address_id.is_not(None))
            .limit(1)
        )
    history = calls.CallFilter(user_id)

    def history_page(session: Session) -> object:
        return calls.history(session, history, settings, 1)

    cases: list[tuple[str, Callable[[Session], object]]] = [
        ("raw indexed query (baseline): newest 51 calls of a line", baseline),
        ("call history, one user, page 1 (baseline: same entries)", history_page),
        ("list, one user, page 1", listing(user_id)),
        (
            "list, one user, ≥ 5 min, last quarter",
            listing(user_id, first=quarter[0], min_minutes=5),
        ),
        ("list, one user, one address", listing(user_id, address_id=address_id)),
        ("list, firm, page 1", listing(None)),
        ("list, firm, ≥ 5 min, quarter", listing(None, first=quarter[0], min_minutes=5)),
    ]
    for name in ("weeks", "users", "ringing", "callbacks", "top_callers"):
        cases.append((f"chart {name}, one user, quarter", chart(name, user_id, quarter)))
        cases.append((f"chart {name}, one user, year", chart(name, user_id, year)))
        cases.append((f"chart {name}, firm, quarter", chart(name, None, quarter)))
        if firm_year:
            cases.append((f"chart {name}, firm, year", chart(name, None, year)))

    def every_chart(whose: int | None, period: tuple[date, date]) -> Callable[[Session], object]:
        flt = figures.FiguresFilter(whose, *period)
        return lambda session: figures.all_figures(session, flt, settings)

    cases.append(("every chart (the charts page), one user, year", every_chart(user_id, year)))
    cases.append(("every chart (the charts page), firm, quarter", every_chart(None, quarter)))
    if firm_year:
        cases.append(("every chart (the charts page), firm, year", every_chart(None, year)))
    if counted:  # the baseline of the sums: the same figures counted from the calls
        for name in ("weeks", "users", "ringing", "callbacks", "top_callers"):
            counting = f"{name}_counted"
            cases.append(
                (f"counted {name}, firm, quarter (before)", chart(counting, None, quarter))
            )
    print(f"{runs} timed runs each after {WARM_UP} warm-up runs (the firm's charts fewer); ms")
    print(f"{'query':<58} {'runs':>5} {'p50':>9} {'p99':>9} {'max':>9}")
    session = store.sessions()
    for label, work in cases:
        times = []
        # Counted from the calls the firm's charts take seconds a run: fewer runs.
        firm_chart = label.startswith("counted")
        repeat = min(runs, 3) if firm_chart else runs
        warm = 1 if firm_chart else WARM_UP
        for index in range(warm + repeat):
            started = time.perf_counter()
            work(session)
            if index >= warm:
                times.append((time.perf_counter() - started) * 1000)
            session.rollback()
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        median = statistics.median(times)
        print(f"{label:<58} {len(times):5} {median:9.2f} {p99:9.2f} {times[-1]:9.2f}", flush=True)
    session.close()
    raw.close()


if __name__ == "__main__":
    main()
