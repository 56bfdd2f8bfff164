"""`offhook users`: the people who log in."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from offhook.cli.common import fail, open_store, out, print_json_lines
from offhook.settings.language import N_, _
from offhook.settings.users import AuthError, add_user
from offhook.store.models import User

users_app = typer.Typer(help=N_("People who log in to offhook."), no_args_is_help=True)


@users_app.command("add", help=N_("Add a user who can log in."))
def users_add(
    login: Annotated[str, typer.Argument(help=N_("The login name."))],
    name: Annotated[str, typer.Option(help=N_("Full name, as shown in offhook."))] = "",
    admin: Annotated[
        bool, typer.Option("--admin", help=N_("May change settings and users."))
    ] = False,
    extension: Annotated[str, typer.Option(help=N_("Internal extension, e.g. 231."))] = "",
    email: Annotated[str, typer.Option(help=N_("E-mail address."))] = "",
    password: Annotated[
        str | None,
        typer.Option(
            help=N_("The password; asked for when not given (or set OFFHOOK_PASSWORD)."),
            envvar="OFFHOOK_PASSWORD",
        ),
    ] = None,
) -> None:
    if password is None:
        password = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    store = open_store(create=True)
    try:
        with store.session() as session:
            user = add_user(
                session, login, name, password, "admin" if admin else "user", extension, email
            )
            out.print(
                _("Added {name} ({login}, {role}).").format(
                    name=user.name, login=user.login, role=user.role
                ),
                highlight=False,
            )
    except AuthError as exc:
        fail(str(exc))


@users_app.command("list", help=N_("List the users."))
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help=N_("One JSON object per line."))] = False,
) -> None:
    store = open_store()
    with store.session() as session:
        users = list(session.scalars(select(User).order_by(User.login)))
        rows: list[dict[str, Any]] = [
            {
                "id": u.id,
                "login": u.login,
                "name": u.name,
                "role": u.role,
                "extension": u.extension,
                "active": u.active,
            }
            for u in users
        ]
    if as_json:
        print_json_lines(rows)
        return
    table = Table("Login", "Name", "Role", "Extension", "Active")
    for row in rows:
        table.add_row(
            row["login"],
            row["name"],
            row["role"],
            row["extension"] or "",
            "yes" if row["active"] else "no",
        )
    out.print(table)
