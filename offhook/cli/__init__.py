"""The `offhook` command: thin, it turns flags into calls on the application."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from offhook import __version__
from offhook.settings.config import Config
from offhook.store import Store, StoreError

app = typer.Typer(
    name="offhook",
    help="Telephony journal for your CRM: see who calls, turn calls into work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="People who log in to offhook.", no_args_is_help=True)
lines_app = typer.Typer(help="Phone lines and the drivers that serve them.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for scripts and other programs.", no_args_is_help=True)
systems_app = typer.Typer(
    help="Phone systems: the connections (a PBX, a cloud account, a softphone) lines are on.",
    no_args_is_help=True,
)
drivers_app = typer.Typer(
    help="Drivers: what connects offhook to each kind of phone system "
    "(Settings > Interfaces > Extensions).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
app.add_typer(lines_app, name="lines")
app.add_typer(systems_app, name="phone-systems")
app.add_typer(tokens_app, name="tokens")
app.add_typer(drivers_app, name="drivers")
# The seed's word for drivers, as the settings page still calls them.
app.add_typer(drivers_app, name="extensions", hidden=True)

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_store(config: Config | None = None, name: str = "offhook") -> Store:
    config = config or load_config()
    store = Store(config.resolved_database_url(name))
    try:
        store.migrate()
    except StoreError as exc:
        fail(str(exc))
    return store


def load_config(**overrides: Any) -> Config:
    try:
        return Config(**overrides)
    except Exception as exc:
        fail(f"the configuration is not valid: {exc}")


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Show the version and quit.")] = False,
) -> None:
    if version:
        console.print(f"offhook {__version__}")
        raise typer.Exit


# --- serve and demo ----------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Run the offhook server (database from OFFHOOK_DATABASE_URL, else a SQLite file)."""
    from offhook.app import Offhook

    _logging(verbose)
    config = load_config()
    offhook = Offhook(config)
    _run(offhook, host, port)


def _run(offhook: Any, host: str, port: int) -> None:
    from offhook.web.server import server_for

    try:
        offhook.prepare()
    except StoreError as exc:
        fail(str(exc))
    server_for(offhook, host, port).run()


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    call_every: Annotated[
        float, typer.Option(help="Seconds between calls that come in by themselves (0: none).")
    ] = 90.0,
    fresh: Annotated[bool, typer.Option(help="Start over with new demo data.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    """Start offhook with a demo firm, two users and a simulated line."""
    from offhook.app import Offhook
    from offhook.intake.demo import DEMO_PASSWORD, seed_demo

    _logging(verbose)
    config = load_config(demo=True)
    url = config.resolved_database_url("demo")
    if fresh and url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    store = Store(url)
    offhook = Offhook(config, store)
    try:
        offhook.prepare()
    except StoreError as exc:
        fail(str(exc))
    token = seed_demo(store, call_every=call_every)
    token_file = config.data_dir / "demo-token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    where = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    console.print(
        f"\n[bold]offhook demo[/] is starting at [link={where}]{where}[/link]\n"
        f"  log in as [bold]anna[/] (or [bold]ben[/]) with the password [bold]{DEMO_PASSWORD}[/]\n"
        f"  simulate a call: [cyan]offhook simulate call --from '+41 44 668 18 00'[/]\n"
        f"  data: {store.engine.url.render_as_string(hide_password=True)}\n",
        highlight=False,
    )
    _run(offhook, host, port)


# --- users -------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    login: Annotated[str, typer.Argument(help="The login name.")],
    name: Annotated[str, typer.Option(help="Full name, as shown in offhook.")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="May change settings and users.")] = False,
    extension: Annotated[str, typer.Option(help="Internal extension, e.g. 231.")] = "",
    email: Annotated[str, typer.Option(help="E-mail address.")] = "",
    password: Annotated[
        str | None,
        typer.Option(
            help="The password; asked for when not given (or set OFFHOOK_PASSWORD).",
            envvar="OFFHOOK_PASSWORD",
        ),
    ] = None,
) -> None:
    """Add a user who can log in."""
    from offhook.settings.users import AuthError, add_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = open_store()
    try:
        with store.session() as session:
            user = add_user(
                session, login, name, password, "admin" if admin else "user", extension, email
            )
            console.print(f"Added {user.name} ({user.login}, {user.role}).", highlight=False)
    except AuthError as exc:
        fail(str(exc))


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the users."""
    from offhook.store.models import User

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
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
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
    console.print(table)


# --- lines -------------------------------------------------------------------------------------


@lines_app.command("add")
def lines_add(
    login: Annotated[str, typer.Argument(help="Whose line it is (login).")],
    address: Annotated[
        str, typer.Option(help="The line's address on its phone system: extension, SIP URI …")
    ],
    phone_system: Annotated[
        str | None,
        typer.Option(help="The phone system (id or name) the line is on; see 'phone-systems'."),
    ] = None,
    driver: Annotated[
        str | None,
        typer.Option(
            help="Instead of --phone-system: set the line up with a phone system of its own "
            "(a softphone), of this driver, e.g. sip or simulator."
        ),
    ] = None,
    label: Annotated[str, typer.Option(help="A name for the line.")] = "",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Option as key=value (value may be JSON): the line's, or with --driver its "
            "phone system's.",
        ),
    ] = None,
) -> None:
    """Give a user a phone line."""
    from offhook.lines.admin import (
        LineConfigError,
        add_line,
        add_line_with_system,
        phone_system_by_ref,
    )
    from offhook.settings.users import find_user

    if (phone_system is None) == (driver is None):
        fail("name the line's phone system (--phone-system) or its driver (--driver)")
    options = _options(option or [])
    store = open_store()
    try:
        with store.session() as session:
            user = find_user(session, login)
            if user is None:
                fail(f"there is no user with the login {login!r}")
            if phone_system is not None:
                system = phone_system_by_ref(session, phone_system)
                line = add_line(session, user, system, address, label, options)
            else:
                assert driver is not None
                line = add_line_with_system(session, user, driver, address, label, options)
            console.print(
                f"Added line {line.id} ({line.title}, {line.driver}) for {user.name}.",
                highlight=False,
            )
    except LineConfigError as exc:
        fail(str(exc))


@systems_app.command("add")
def systems_add(
    driver: Annotated[str, typer.Option(help="Its driver, e.g. simulator.")],
    name: Annotated[str, typer.Option(help="A name for it, e.g. the PBX's host or account.")],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Option as key=value (value may be JSON)."),
    ] = None,
) -> None:
    """Set up a phone system; then give users lines on it with 'lines add --phone-system'."""
    from offhook.lines.admin import LineConfigError, add_phone_system

    store = open_store()
    try:
        with store.session() as session:
            system = add_phone_system(session, driver, name, _options(option or []))
            console.print(f"Added phone system {system.id} ({system.name}).", highlight=False)
    except LineConfigError as exc:
        fail(str(exc))


@systems_app.command("list")
def systems_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List every phone system with its driver and lines (secrets are not shown)."""
    from offhook.lines.admin import public_options
    from offhook.store.models import PhoneSystem

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
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
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
    console.print(table)


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
    from offhook.lines.admin import public_options
    from offhook.store.models import Line

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
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
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
    console.print(table)


# --- extensions --------------------------------------------------------------------------------


@drivers_app.command("list")
def drivers_list() -> None:
    """The drivers found on this machine, and whether offhook uses them."""
    from offhook.drivers.registry import available_drivers
    from offhook.store.models import InstalledDriver

    store = open_store()
    with store.session() as session:
        state = {e.name: e for e in session.scalars(select(InstalledDriver))}
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
    console.print(table)


@drivers_app.command("install")
def drivers_install(
    name: Annotated[str, typer.Argument(help="Driver name, e.g. sip.")],
    auto_load: Annotated[
        bool, typer.Option("--auto-load/--no-auto-load", help="Start with the server.")
    ] = True,
) -> None:
    """Install a driver so phone systems can use it (as Settings > Interfaces > Extensions)."""
    from offhook.lines.admin import LineConfigError, install_driver

    store = open_store()
    try:
        with store.session() as session:
            install_driver(session, name, auto_load)
    except LineConfigError as exc:
        fail(str(exc))
    console.print(
        f"Installed {name}{' with auto load' if auto_load else ' (not auto loaded)'}. "
        "Restart the server for it to take effect.",
        highlight=False,
    )


# --- tokens ------------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    login: Annotated[str, typer.Argument(help="Whose token (login); it acts as that user.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
) -> None:
    """Create an API token; it is shown once, keep it safe."""
    from offhook.settings.users import create_token, find_user

    store = open_store()
    with store.session() as session:
        user = find_user(session, login)
        if user is None:
            fail(f"there is no user with the login {login!r}")
        token = create_token(session, user, name)
    err.print(f"API token for {login} (shown once; send it as 'Authorization: Bearer …'):")
    print(token)


# Commands that live in their own modules (they use the helpers above).
from offhook.cli.data import demo_data, import_app  # noqa: E402
from offhook.cli.directory import lookup  # noqa: E402
from offhook.cli.drivers import add_driver_commands  # noqa: E402
from offhook.cli.numbers import numbers_app  # noqa: E402

app.add_typer(numbers_app, name="numbers")
add_driver_commands(app)
app.add_typer(import_app, name="import")
app.command("lookup")(lookup)
app.command("demo-data")(demo_data)


def main() -> None:
    # Long numbers in JSON output must survive a pipe whatever the terminal's encoding.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
