"""`offhook tokens`: API tokens for scripts and other programs."""

from __future__ import annotations

from typing import Annotated

import typer

from offhook.cli.common import err, fail, open_store
from offhook.settings.language import N_, _
from offhook.settings.users import create_token, find_user

tokens_app = typer.Typer(
    help=N_("API tokens for scripts and other programs."), no_args_is_help=True
)


@tokens_app.command("create", help=N_("Create an API token; it is shown once, keep it safe."))
def tokens_create(
    login: Annotated[str, typer.Argument(help=N_("Whose token (login); it acts as that user."))],
    name: Annotated[str, typer.Option(help=N_("What the token is for."))] = "",
) -> None:
    store = open_store()
    with store.session() as session:
        user = find_user(session, login)
        if user is None:
            fail(_("there is no user with the login {login}").format(login=repr(login)))
        token = create_token(session, user, name)
    err.print(
        _("API token for {login} (shown once; send it as 'Authorization: Bearer …'):").format(
            login=login
        )
    )
    print(token)
