"""`offhook demo-data` (a synthetic CRM of any size) and `offhook import` (real address books)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def demo_data(
    addresses: Annotated[int, typer.Option(help="How many addresses to add.", min=1)] = 1000,
    seed: Annotated[int, typer.Option(help="The same seed gives the same data.")] = 1,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes for normalizing (default: one per core when many).", min=0
        ),
    ] = None,
) -> None:
    """Add a synthetic CRM: companies with switchboard and direct numbers, contact persons,
    private persons, mobiles and faxes in several countries, numbers typed every which way.

    For benchmarks and load tests: it adds to the database in OFFHOOK_DATABASE_URL, fast
    (a million addresses take minutes). Everything is made up.
    """
    import time

    from offhook.cli import open_store
    from offhook.synthetic import create_synthetic_crm

    store = open_store()
    started = time.monotonic()
    columns = (
        TextColumn("Adding addresses"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("addresses", total=addresses)
        summary = create_synthetic_crm(
            store,
            addresses,
            seed=seed,
            workers=workers,
            on_progress=lambda done: bar.advance(task, done),
        )
    seconds = time.monotonic() - started
    out.print(
        f"Added {summary.addresses:,} addresses with {summary.numbers:,} phone numbers "
        f"({summary.channels:,} channels with e-mail addresses) in {seconds:.1f} s."
    )
    store.dispose()
