"""`offhook backup` and `offhook restore`: keep the embedded SQLite store safe, while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from offhook.cli.common import fail, load_config, out
from offhook.settings.language import N_, _
from offhook.store.backup import BackupError, default_backup_path, sqlite_file
from offhook.store.backup import backup as backup_store
from offhook.store.backup import restore as restore_store

POSTGRES_ADVICE = (
    "offhook uses PostgreSQL here: back it up with PostgreSQL's own tools, e.g.\n"
    "  pg_dump -Fc -f offhook.dump <database>\n"
    "and restore with pg_restore (see the README, 'Backups')."
)


def _database() -> Path:
    config = load_config()
    path = sqlite_file(config.resolved_database_url())
    if path is None:
        fail(POSTGRES_ADVICE)
    return path


def _size(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} bytes"  # pragma: no cover - the loop always returns


BACKUP_HELP = N_("Back up the store while offhook runs; the copy is checked before it counts.")


def backup(
    file: Annotated[
        Path | None,
        typer.Argument(help=N_("Where to write the backup (default: backups/ beside the store).")),
    ] = None,
) -> None:
    database = _database()
    target = file or default_backup_path(database)
    try:
        copy = backup_store(database, target)
    except BackupError as exc:
        fail(str(exc))
    out.print(
        f"Backed up {database} to {copy.path.resolve()} ({_size(copy.size)}, "
        f"{copy.calls:,} calls); the copy was checked and is complete.\n"
        f"Restore it with: offhook restore {copy.path.resolve()}"
    )


RESTORE_HELP = N_("Make a backup the store again; the store it replaces is kept beside it.")


def restore(
    file: Annotated[Path, typer.Argument(help=N_("The backup to restore."))],
    to: Annotated[
        Path | None,
        typer.Option(help=N_("Restore into this new file instead of the store in use.")),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help=N_("Restore even while a server uses the store (restart it afterwards).")
        ),
    ] = False,
) -> None:
    database = to or _database()
    try:
        restored = restore_store(file, database, force=force)
    except BackupError as exc:
        fail(str(exc))
    out.print(
        f"Restored {file} to {database} ({_size(restored.copy.size)}, "
        f"{restored.copy.calls:,} calls)."
    )
    if restored.aside is not None:
        out.print(_("The store it replaced is kept at {path}.").format(path=restored.aside))
    if to is not None:
        out.print(
            _("To use it, start offhook with OFFHOOK_DATABASE_URL={url}").format(
                url=f"sqlite:///{to.resolve()}"
            )
        )
    elif force:
        out.print(_("Restart the offhook server now: it still has the replaced store open."))
