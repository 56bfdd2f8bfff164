"""The `offhook` command: thin, it turns flags into calls on the application.

One module per command group; this one puts them together.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException  # typer's own click, which it raises
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


def _translate(command: Any) -> None:
    """Help texts in the language of the system's locale. They are marked N_ where they are
    written (English), and translated here, once the locale is known, for the whole tree."""
    _frame(command)
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


# The folder of the compiled catalogue click and typer read, kept while the command runs.
_FRAMING: list[tempfile.TemporaryDirectory[str]] = []


def _frame_in(locale: str) -> None:
    """Have click and typer write their own framing ("Usage:", "Options", "Show this message
    and exit.", "Missing argument", the error panel…) in `locale`.

    They take those texts from the standard library's `gettext` in its global domain, which
    reads compiled catalogues from a folder: offhook's catalogue (which holds their texts, see
    `offhook.cli.framing`) is compiled into a temporary one and made that domain.
    """
    name = language.language_of(locale)
    data = language.compiled(name)
    if data is None:
        return
    folder = tempfile.TemporaryDirectory(prefix="offhook-locale-")
    _FRAMING.append(folder)
    path = Path(folder.name) / name / "LC_MESSAGES" / f"{language.DOMAIN}.mo"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    stdlib_gettext.bindtextdomain(language.DOMAIN, folder.name)
    stdlib_gettext.textdomain(language.DOMAIN)


def _frame(command: Any) -> None:
    """The framing typer writes in English itself, not through `gettext` (its own copy of
    click): the "Usage:" before each usage line and the help of --help."""
    base = command.context_class

    class Formatter(base.formatter_class):  # type: ignore[name-defined,misc]
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            if prefix is None:
                prefix = gettext("Usage:") + " "
            super().write_usage(prog, args, prefix)

    class Context(base):  # type: ignore[valid-type,misc]
        formatter_class = Formatter

    command.context_class = Context
    help_option = command.get_help_option(Context(command))
    if help_option is not None and help_option.help:
        help_option.help = gettext(help_option.help)


# typer's errors written in English by itself: what they start with, and its translation.
_ERRORS = (
    (re.compile(r"Missing argument(?P<rest>.*)", re.S), N_("Missing argument")),
    (re.compile(r"Missing option(?P<rest>.*)", re.S), N_("Missing option")),
    (re.compile(r"Missing parameter(?P<rest>.*)", re.S), N_("Missing parameter")),
)
_INVALID_FOR = re.compile(r"Invalid value for (?P<param_hint>.+?): (?P<message>.*)", re.S)
_INVALID = re.compile(r"Invalid value: (?P<message>.*)", re.S)
_NO_OPTION = re.compile(
    r"No such option: (?P<name>\S+)(?: \(Possible options: (?P<options>.*)\))?", re.S
)


def _translated_error(text: str) -> str:
    for pattern, start in _ERRORS:
        match = pattern.fullmatch(text)
        if match is not None:
            return gettext(start) + match["rest"]
    match = _INVALID_FOR.fullmatch(text)
    if match is not None:
        return gettext("Invalid value for {param_hint}: {message}").format(**match.groupdict())
    match = _INVALID.fullmatch(text)
    if match is not None:
        return gettext("Invalid value: {message}").format(**match.groupdict())
    match = _NO_OPTION.fullmatch(text)
    if match is not None:
        shown = gettext(N_("No such option: {name}")).format(name=match["name"])
        if match["options"]:
            shown += " " + gettext(N_("(Possible options: {options})")).format(
                options=match["options"]
            )
        return shown
    return text


def _run(command: Any) -> None:
    """`command()`, as typer runs it, with its usage errors in the user's language."""
    # Imported here: typer's error panel takes its titles ("Error", "Try … for help") from
    # `gettext` when it is first imported, which must be after `_frame_in`.
    from typer import rich_utils

    try:
        code = command.main(standalone_mode=False)
    except ClickException as problem:
        text = _translated_error(problem.format_message())
        problem.format_message = lambda: text  # type: ignore[method-assign]
        rich_utils.rich_format_error(problem)
        sys.exit(problem.exit_code)
    except typer.Abort:
        rich_utils.rich_abort_error()
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def main() -> None:
    # Long numbers in JSON output must survive a pipe whatever the terminal's encoding.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # The command speaks the system's language (LC_ALL, LC_MESSAGES, LANG), as other tools do.
    locale = language.of_environment(os.environ)
    language.activate(locale)
    _frame_in(locale)
    command = typer.main.get_command(app)
    _translate(command)
    _run(command)
