"""`offhook lines`, `offhook phone-systems` and `offhook drivers`: users' lines, the phone
systems they are on, and the drivers that connect those (Settings > Interfaces > Extensions)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from offhook.cli.common import fail, open_store, out, print_json_lines
from offhook.drivers.registry import available_drivers
from offhook.lines.admin import (
    LineConfigError,
    add_line,
    add_line_with_system,
    add_phone_system,
    install_driver,
    phone_system_by_ref,
    public_options,
)
from offhook.settings.language import N_, _
from offhook.settings.users import find_user
from offhook.store.models import InstalledDriver, Line, PhoneSystem

lines_app = typer.Typer(help=N_("Users' phone lines on the phone systems."), no_args_is_help=True)
systems_app = typer.Typer(
    help=N_("Phone systems: the connections (a PBX, a cloud account, a softphone) lines are on."),
    no_args_is_help=True,
)
drivers_app = typer.Typer(
    help=N_(
        "Drivers: what connects offhook to each kind of phone system "
        "(Settings > Interfaces > Extensions)."
    ),
    no_args_is_help=True,
)


@lines_app.command("add", help=N_("Give a user a phone line."))
def lines_add(
    login: Annotated[str, typer.Argument(help=N_("Whose line it is (login)."))],
    address: Annotated[
        str, typer.Option(help=N_("The line's address on its phone system: extension, SIP URI …"))
    ],
    phone_system: Annotated[
        str | None,
        typer.Option(help=N_("The phone system (id or name) the line is on; see 'phone-systems'.")),
    ] = None,
    driver: Annotated[
        str | None,
        typer.Option(
            help=N_(
                "Instead of --phone-system: set the line up with a phone system of its own "
                "(a softphone), of this driver, e.g. sip or simulator."
            )
        ),
    ] = None,
    label: Annotated[str, typer.Option(help=N_("A name for the line."))] = "",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help=N_(
                "Option as key=value (value may be JSON): the line's, or with --driver its "
                "phone system's."
            ),
        ),
    ] = None,
) -> None:
    if (phone_system is None) == (driver is None):
        fail(_("name the line's phone system (--phone-system) or its driver (--driver)"))
    options = _options(option or [])
    store = open_store(create=True)
    try:
        with store.session() as session:
            user = find_user(session, login)
            if user is None:
                fail(_("there is no user with the login {login}").format(login=repr(login)))
            if phone_system is not None:
                system = phone_system_by_ref(session, phone_system)
                line = add_line(session, user, system, address, label, options)
            else:
                assert driver is not None
                line = add_line_with_system(session, user, driver, address, label, options)
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
            fail(_("--option takes key=value, not {text}").format(text=repr(pair)))
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


@lines_app.command(
    "list", help=N_("List every line with its owner and phone system (secrets are not shown).")
)
def lines_list(
    as_json: Annotated[bool, typer.Option("--json", help=N_("One JSON object per line."))] = False,
) -> None:
    store = open_store()
    with store.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": line.id,
                "user": line.user.login,
                "phone_system": line.phone_system_id,
                "driver": line.driver,
                "address": line.address,
                "label": line.label,
                "enabled": line.enabled,
                "options": public_options(line.driver, line.options, "line"),
            }
            for line in session.scalars(select(Line).order_by(Line.id))
        ]
    if as_json:
        print_json_lines(rows)
        return
    table = Table("Id", "User", "Phone system", "Driver", "Address", "Label", "Enabled")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["user"],
            str(row["phone_system"]),
            row["driver"],
            row["address"],
            row["label"],
            "yes" if row["enabled"] else "no",
        )
    out.print(table)


@systems_app.command(
    "add",
    help=N_("Set up a phone system; then give users lines on it with 'lines add --phone-system'."),
)
def systems_add(
    driver: Annotated[str, typer.Option(help=N_("Its driver, e.g. simulator."))],
    name: Annotated[str, typer.Option(help=N_("A name for it, e.g. the PBX's host or account."))],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help=N_("Option as key=value (value may be JSON).")),
    ] = None,
) -> None:
    store = open_store(create=True)
    try:
        with store.session() as session:
            system = add_phone_system(session, driver, name, _options(option or []))
            out.print(
                _("Added phone system {id} ({name}).").format(id=system.id, name=system.name),
                highlight=False,
            )
    except LineConfigError as exc:
        fail(str(exc))


@systems_app.command(
    "list", help=N_("List every phone system with its driver and lines (secrets are not shown).")
)
def systems_list(
    as_json: Annotated[bool, typer.Option("--json", help=N_("One JSON object per line."))] = False,
) -> None:
    store = open_store()
    with store.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": system.id,
                "name": system.name,
                "driver": system.driver,
                "enabled": system.enabled,
                "lines": [line.id for line in system.lines],
                "options": public_options(system.driver, system.options),
            }
            for system in session.scalars(select(PhoneSystem).order_by(PhoneSystem.id))
        ]
    if as_json:
        print_json_lines(rows)
        return
    table = Table("Id", "Name", "Driver", "Lines", "Enabled")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["driver"],
            ", ".join(str(i) for i in row["lines"]),
            "yes" if row["enabled"] else "no",
        )
    out.print(table)


@drivers_app.command(
    "list", help=N_("The drivers found on this machine, and whether offhook uses them.")
)
def drivers_list() -> None:
    store = open_store()
    with store.session() as session:
        state = {e.name: e for e in session.scalars(select(InstalledDriver))}
        table = Table("Name", "Title", "Installed", "Auto load", "Note")
        for name, info in available_drivers().items():
            row = state.get(name)
            table.add_row(
                name,
                info.title,
                "yes" if row and row.installed else "no",
                "yes" if row and row.auto_load else "no",
                info.error or "",
            )
    out.print(table)


@drivers_app.command(
    "install",
    help=N_(
        "Install a driver so phone systems can use it (as Settings > Interfaces > Extensions)."
    ),
)
def drivers_install(
    name: Annotated[str, typer.Argument(help=N_("Driver name, e.g. sip."))],
    auto_load: Annotated[
        bool, typer.Option("--auto-load/--no-auto-load", help=N_("Start with the server."))
    ] = True,
) -> None:
    store = open_store(create=True)
    try:
        with store.session() as session:
            install_driver(session, name, auto_load)
    except LineConfigError as exc:
        fail(str(exc))
    out.print(
        f"Installed {name}{' with auto load' if auto_load else ' (not auto loaded)'}. "
        "Restart the server for it to take effect.",
        highlight=False,
    )
