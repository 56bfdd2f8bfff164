"""`offhook tapi token …`: agent tokens from the command line (as in Settings)."""

from __future__ import annotations

from typing import Annotated

import typer

from offhook.cli.common import err, fail, open_store, out
from offhook.settings.agent_tokens import (
    AgentTokenError,
    agent_tokens,
    create_agent_token,
    revoke_agent_token,
)
from offhook.settings.language import N_, _
from offhook.settings.users import find_user

app = typer.Typer(
    name="tapi", help=N_("Windows TAPI lines and their offhook agents."), no_args_is_help=True
)
token_app = typer.Typer(help=N_("Agent tokens: what lets an offhook agent serve lines."))
app.add_typer(token_app, name="token")


@token_app.command(
    "create",
    help=N_(
        "Create an agent token; it is shown once: give it to the agent (`offhook-agent setup`)."
    ),
)
def token_create(
    login: Annotated[
        str, typer.Argument(help=N_("Who creates it: an admin, or the lines' owner."))
    ],
    system: Annotated[int, typer.Option(help=N_("The TAPI phone system's id."))],
    line: Annotated[list[int], typer.Option(help=N_("A line the agent may serve (repeatable)."))],
    name: Annotated[str, typer.Option(help=N_("What the agent is, e.g. the PC's name."))] = "",
) -> None:
    store = open_store()
    with store.session() as session:
        user = find_user(session, login)
        if user is None:
            fail(_("there is no user with the login {login}").format(login=repr(login)))
        try:
            token = create_agent_token(session, user, system, line, name)
        except AgentTokenError as exc:
            fail(str(exc))
    err.print(_("Agent token (shown once; give it to the offhook agent):"))
    print(token)


@token_app.command(
    "list", help=N_("List agent tokens (never the tokens themselves, which are not kept).")
)
def token_list(
    login: Annotated[str, typer.Argument(help=N_("Whose view: an admin sees every token."))],
) -> None:
    store = open_store()
    with store.session() as session:
        user = find_user(session, login)
        if user is None:
            fail(_("there is no user with the login {login}").format(login=repr(login)))
        for row in agent_tokens(session, user):
            lines = ", ".join(str(i) for i in row.line_ids)
            used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
            out.print(
                f"{row.id}  system {row.phone_system_id}  lines {lines}  {row.name}  "
                f"(last used: {used})"
            )


@token_app.command(
    "revoke",
    help=N_(
        "Revoke an agent token: its agent is refused from now on (and disconnected within "
        "seconds, if connected)."
    ),
)
def token_revoke(
    login: Annotated[str, typer.Argument(help=N_("Who revokes it: an admin, or its creator."))],
    token_id: Annotated[int, typer.Argument(help=N_("The token's id (see `list`)."))],
) -> None:
    store = open_store()
    with store.session() as session:
        user = find_user(session, login)
        if user is None:
            fail(_("there is no user with the login {login}").format(login=repr(login)))
        try:
            revoke_agent_token(session, user, token_id)
        except AgentTokenError as exc:
            fail(str(exc))
    err.print(_("Agent token {id} revoked.").format(id=token_id))
