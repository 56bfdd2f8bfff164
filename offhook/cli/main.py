"""The `offhook` command: thin, it turns flags into calls on the application.

One module per command group; this one puts them together.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from offhook import __version__
from offhook.cli.backup import BACKUP_HELP, RESTORE_HELP, backup, restore
from offhook.cli.common import out
from offhook.cli.drivers import add_driver_commands
from offhook.cli.intake import DEMO_DATA_HELP, demo_data, import_app
from offhook.cli.lines import drivers_app, lines_app, systems_app
from offhook.cli.lookup import LOOKUP_HELP, lookup
from offhook.cli.numbers import numbers_app
from offhook.cli.server import DEMO_HELP, SERVE_HELP, demo, serve
from offhook.cli.tokens import tokens_app
from offhook.cli.users import users_app
from offhook.settings import language
from offhook.settings.language import N_, gettext

app = typer.Typer(
    name="offhook",
    help=N_("Telephony journal for your CRM: see who calls, turn calls into work."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command(help=SERVE_HELP)(serve)
app.command(help=DEMO_HELP)(demo)
app.add_typer(users_app, name="users")
app.add_typer(lines_app, name="lines")
app.add_typer(systems_app, name="phone-systems")
app.add_typer(tokens_app, name="tokens")
app.add_typer(drivers_app, name="drivers")
# The seed's word for drivers, as the settings page still calls them.
app.add_typer(drivers_app, name="extensions", hidden=True)
app.add_typer(numbers_app, name="numbers")
app.add_typer(import_app, name="import")
app.command("lookup", help=LOOKUP_HELP)(lookup)
app.command("demo-data", help=DEMO_DATA_HELP)(demo_data)
app.command(help=BACKUP_HELP)(backup)
app.command(help=RESTORE_HELP)(restore)
# Last: a driver's command group may not take a name offhook uses.
add_driver_commands(app)


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[
        bool, typer.Option("--version", help=N_("Show the version and quit."))
    ] = False,
) -> None:
    if version:
        out.print(f"offhook {__version__}")
        raise typer.Exit


def _translate(command: object) -> None:
    """Help texts in the language of the system's locale. They are marked N_ where they are
    written (English), and translated here, once the locale is known, for the whole tree."""
    for attribute in ("help", "short_help", "epilog"):
        text = getattr(command, attribute, None)
        if isinstance(text, str) and text:
            setattr(command, attribute, gettext(text))
    for param in getattr(command, "params", ()):
        text = getattr(param, "help", None)
        if isinstance(text, str) and text:
            param.help = gettext(text)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _translate(sub)


def main() -> None:
    # Long numbers in JSON output must survive a pipe whatever the terminal's encoding.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # The command speaks the system's language (LC_ALL, LC_MESSAGES, LANG), as other tools do.
    language.activate(language.of_environment(os.environ))
    command = typer.main.get_command(app)
    _translate(command)
    command()
