"""What every command group shares: the consoles, failing with a message, the configuration
and the store."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import typer
from rich.console import Console

from offhook.settings.config import Config
from offhook.settings.language import _
from offhook.store import Store, StoreError

# Soft-wrapped: a long number, path or message stays on one line when piped or copied.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    label = _("Error:")
    err.print(f"[bold red]{label}[/] {message}")
    raise typer.Exit(code)


def load_config(**overrides: Any) -> Config:
    try:
        return Config(**overrides)
    except Exception as exc:
        fail(_("the configuration is not valid: {problem}").format(problem=exc))


def open_store(config: Config | None = None, *, create: bool = False) -> Store:
    """The store the server uses with the same settings (OFFHOOK_DATA_DIR, OFFHOOK_DATABASE_URL,
    OFFHOOK_DEMO). Only commands that set offhook up (`create`) may start a new SQLite file; the
    others say that there is none, rather than leave an empty one behind."""
    config = config or load_config()
    url = config.resolved_database_url()
    path = config.sqlite_path()
    if path is not None and not path.exists():
        demo = config.sqlite_path("demo")
        if not config.demo and not create and demo is not None and demo.exists():
            # The folder holds only the demo's database: that is the server this is about.
            err.print(
                _("Using the demo's database {path} (OFFHOOK_DEMO=1 says so at once).").format(
                    path=demo
                )
            )
            url = config.resolved_database_url("demo")
        elif not create:
            fail(
                _(
                    "there is no offhook database at {path}. The server creates it when it first "
                    "starts (offhook serve; offhook users add does too). If the server runs with "
                    "other settings, use the same OFFHOOK_DATA_DIR or OFFHOOK_DATABASE_URL "
                    "(the demo's: OFFHOOK_DEMO=1)."
                ).format(path=path)
            )
    store = Store(url)
    try:
        store.migrate()
    except StoreError as exc:
        fail(str(exc))
    return store


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


def print_json_lines(rows: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line, for scripts (`--json`)."""
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


def count(amount: int, one: str, many: str) -> str:
    """ "1 row", "2,500 rows"."""
    return f"{amount:,} {one if amount == 1 else many}"
