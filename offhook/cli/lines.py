"""`offhook lines` and `offhook extensions`: phone lines and the drivers that serve them."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from offhook.cli.common import fail, open_store, out, print_json_lines
from offhook.drivers.registry import available_drivers
from offhook.lines.admin import LineConfigError, add_line, install_extension, public_options
from offhook.settings.users import find_user
from offhook.store.models import Extension, Line

lines_app = typer.Typer(help="Phone lines and the drivers that serve them.", no_args_is_help=True)
extensions_app = typer.Typer(help="Installed extensions (line drivers).", no_args_is_help=True)


@lines_app.command("add")
def lines_add(
    login: Annotated[str, typer.Argument(help="Whose line it is (login).")],
    driver: Annotated[str, typer.Option(help="Line driver, e.g. simulator or sip.")],
    address: Annotated[str, typer.Option(help="The line's address: SIP URI, extension …")],
    label: Annotated[str, typer.Option(help="A name for the line.")] = "",
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Driver option as key=value (value may be JSON)."),
    ] = None,
) -> None:
    """Give a user a phone line."""
    options = _options(option or [])
    store = open_store()
    try:
        with store.session() as session:
            user = find_user(session, login)
            if user is None:
                fail(f"there is no user with the login {login!r}")
            line = add_line(session, user, driver, address, label, options)
            out.print(
                f"Added line {line.id} ({line.title}, {line.driver}) for {user.name}.",
                highlight=False,
            )
    except LineConfigError as exc:
        fail(str(exc))


def _options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--option takes key=value, not {pair!r}")
        options[key.strip()] = _option_value(raw)
    return options


def _option_value(raw: str) -> Any:
    """JSON where the text is meant as JSON, else the text as typed.

    Only plain whole numbers count as numbers: sipgate's SIP id 1234567e0 must stay text.
    """
    plain_number = re.fullmatch(r"-?[1-9][0-9]{0,17}|0", raw) is not None
    if plain_number or raw in ("true", "false", "null") or raw[:1] in ('"', "{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


@lines_app.command("list")
def lines_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List every line with its owner and driver (secrets are not shown)."""
    store = open_store()
    with store.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": line.id,
                "user": line.user.login,
                "driver": line.driver,
                "address": line.address,
                "label": line.label,
                "enabled": line.enabled,
                "options": public_options(line),
            }
            for line in session.scalars(select(Line).order_by(Line.id))
        ]
    if as_json:
        print_json_lines(rows)
        return
    table = Table("Id", "User", "Driver", "Address", "Label", "Enabled")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["user"],
            row["driver"],
            row["address"],
            row["label"],
            "yes" if row["enabled"] else "no",
        )
    out.print(table)


@extensions_app.command("list")
def extensions_list() -> None:
    """The line drivers installed on this machine, and whether offhook uses them."""
    store = open_store()
    with store.session() as session:
        state = {e.name: e for e in session.scalars(select(Extension))}
        table = Table("Name", "Title", "Installed", "Auto load", "Note")
        for name, info in available_drivers().items():
            ext = state.get(name)
            table.add_row(
                name,
                info.title,
                "yes" if ext and ext.installed else "no",
                "yes" if ext and ext.auto_load else "no",
                info.error or "",
            )
    out.print(table)


@extensions_app.command("install")
def extensions_install(
    name: Annotated[str, typer.Argument(help="Driver name, e.g. sip.")],
    auto_load: Annotated[
        bool, typer.Option("--auto-load/--no-auto-load", help="Start with the server.")
    ] = True,
) -> None:
    """Install an extension so lines can use it (as Settings > Interfaces > Extensions)."""
    store = open_store()
    try:
        with store.session() as session:
            install_extension(session, name, auto_load)
    except LineConfigError as exc:
        fail(str(exc))
    out.print(
        f"Installed {name}{' with auto load' if auto_load else ' (not auto loaded)'}. "
        "Restart the server for it to take effect.",
        highlight=False,
    )
