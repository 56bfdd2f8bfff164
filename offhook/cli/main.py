"""The `offhook` command: thin, it turns flags into calls on the application.

One module per command group; this one puts them together.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from offhook import __version__
from offhook.cli.backup import backup, restore
from offhook.cli.common import out
from offhook.cli.drivers import add_driver_commands
from offhook.cli.intake import demo_data, import_app
from offhook.cli.lines import drivers_app, lines_app, systems_app
from offhook.cli.lookup import lookup
from offhook.cli.numbers import numbers_app
from offhook.cli.server import demo, serve
from offhook.cli.tokens import tokens_app
from offhook.cli.users import users_app

app = typer.Typer(
    name="offhook",
    help="Telephony journal for your CRM: see who calls, turn calls into work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve)
app.command()(demo)
app.add_typer(users_app, name="users")
app.add_typer(lines_app, name="lines")
app.add_typer(systems_app, name="phone-systems")
app.add_typer(tokens_app, name="tokens")
app.add_typer(drivers_app, name="drivers")
# The seed's word for drivers, as the settings page still calls them.
app.add_typer(drivers_app, name="extensions", hidden=True)
app.add_typer(numbers_app, name="numbers")
app.add_typer(import_app, name="import")
app.command("lookup")(lookup)
app.command("demo-data")(demo_data)
app.command()(backup)
app.command()(restore)
# Last: a driver's command group may not take a name offhook uses.
add_driver_commands(app)


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Show the version and quit.")] = False,
) -> None:
    if version:
        out.print(f"offhook {__version__}")
        raise typer.Exit


def main() -> None:
    # Long numbers in JSON output must survive a pipe whatever the terminal's encoding.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
