"""Bulk normalization: throughput (numbers/s) beside a naive `phonenumbers` loop on the same
numbers, and peak memory at two sizes, to show it is flat in the number of rows.

    .venv/bin/python bench/normalize.py --db sqlite --small 100000 --addresses 1000000
    .venv/bin/python bench/normalize.py --db postgres --small 100000 --addresses 1000000

For each size it builds a synthetic CRM (`offhook.intake.synthetic`, about 2.5 numbers per address),
then clears every normalized column, as after an import of raw numbers, so the job finds every
row stale and rewrites every row. The job (`offhook.directory.normalization.normalize_numbers`, what
`offhook numbers normalize` and the Settings page run) then runs in a fresh process, so its
peak resident memory (main process and worker processes) is its own. The baseline reads the
same numbers into a list and runs the loop everybody writes first: `phonenumbers.parse`,
`is_valid_number`, `format_number(E164)`, one number after the other, without a database.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import phonenumbers
from bench_database import bench_database, fresh_store
from sqlalchemy import text

from offhook.directory.normalization import normalize_numbers
from offhook.intake.synthetic import create_synthetic_crm
from offhook.store import Store

NUMBER_KINDS = "('phone', 'mobile', 'fax')"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--addresses", type=int, default=400_000, help="the large size")
    parser.add_argument("--small", type=int, default=40_000, help="the small size")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the job")
    parser.add_argument("--also-inline", action="store_true", help="also run without workers")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: run the job on this URL
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_job(args.run, args.workers)))
        return
    print(f"database: {args.db}; job with {args.workers} worker processes")
    print(
        f"{'job (addresses)':34} {'numbers':>10} {'seconds':>8} {'numbers/s':>10} "
        f"{'CPU s':>7} {'peak RSS MB':>12}"
    )
    baseline = None
    for size in (args.small, args.addresses):
        with bench_database(args.db) as url:
            store = fresh_store(url)
            create_synthetic_crm(store, size, seed=size)
            runs = [args.workers] + ([0] if args.also_inline and args.workers else [])
            for workers in runs:
                clear(store)
                label = f"every number changes, {size:,}" + ("" if workers else ", no workers")
                show(label, measure(url, workers), workers)
            # The usual rerun: the settings changed, the numbers read the same (a new
            # outside-line prefix, say): every row is stale, no normalized form changes.
            restamp(store)
            show(f"settings changed, {size:,}", measure(url, args.workers), args.workers)
            if size == args.addresses:
                baseline = naive_loop(store)
            store.dispose()
    assert baseline is not None
    count, seconds = baseline
    print(
        f"{'naive phonenumbers loop (baseline)':34} {count:>10,} {seconds:>8.1f} "
        f"{count / seconds:>10,.0f}"
    )
    print(
        "\nCPU s: of the job's process and workers (a PostgreSQL server's not included)."
        "\ntarget: ≥ 40,000 numbers/s on 2 cores; peak memory flat in the number of rows"
    )


def show(label: str, result: dict[str, Any], workers: int) -> None:
    rss = result["rss_main_mb"] + result["rss_workers_mb"] * workers
    print(
        f"{label:34} {result['numbers']:>10,} {result['seconds']:>8.1f} "
        f"{result['numbers'] / result['seconds']:>10,.0f} {result['cpu']:>7.1f} {rss:>12.0f}"
        f"  (main {result['rss_main_mb']:.0f} + {workers} × {result['rss_workers_mb']:.0f})"
    )


def restamp(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE channels SET normalized_with = 'older settings'"))
    vacuum(store)


def clear(store: Store) -> None:
    """Every row stale and without its normalized form, as after an import of raw numbers."""
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE channels SET e164 = NULL, number_kind = NULL, block_prefix = NULL, "
                "normalize_error = NULL, normalized_with = NULL"
            )
        )
    vacuum(store)


def vacuum(store: Store) -> None:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Neither database should carry the clearing's garbage into the measured run.
        connection.exec_driver_sql("VACUUM" if store.dialect == "sqlite" else "VACUUM ANALYZE")


def measure(url: str, workers: int) -> dict[str, Any]:
    """The job in a process of its own, for a clean peak memory figure."""
    output = subprocess.run(
        [sys.executable, __file__, "--run", url, "--workers", str(workers)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def run_job(url: str, workers: int) -> dict[str, Any]:
    store = Store(url)
    with store.engine.connect() as connection:
        numbers = connection.execute(
            text(f"SELECT count(*) FROM channels WHERE kind IN {NUMBER_KINDS}")  # noqa: S608
        ).scalar_one()
    started = time.perf_counter()
    progress = normalize_numbers(store, workers=workers)
    seconds = time.perf_counter() - started
    store.dispose()
    assert progress.state == "finished" and progress.done == progress.total
    mine, workers_usage = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    own = mine.ru_maxrss / 1024  # KiB on Linux
    children = workers_usage.ru_maxrss / 1024  # the largest worker
    # CPU time of this process and its workers (not of a PostgreSQL server): the work the job
    # costs, whatever else the machine does at the time.
    cpu = sum(u.ru_utime + u.ru_stime for u in (mine, workers_usage))
    return {
        "numbers": int(numbers),
        "channels": progress.done,
        "seconds": seconds,
        "rss_main_mb": own,
        "rss_workers_mb": children,
        "cpu": cpu,
    }


def naive_loop(store: Store) -> tuple[int, float]:
    with store.engine.connect() as connection:
        values = list(
            connection.execute(
                text(f"SELECT value FROM channels WHERE kind IN {NUMBER_KINDS}")  # noqa: S608
            ).scalars()
        )
    started = time.perf_counter()
    for value in values:
        try:
            number = phonenumbers.parse(value, "CH")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return len(values), time.perf_counter() - started


if __name__ == "__main__":
    main()
