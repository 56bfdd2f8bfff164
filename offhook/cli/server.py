"""`offhook serve` and `offhook demo`: run the server, with or without the demo firm."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from offhook.app import Offhook
from offhook.cli.common import fail, load_config, out, setup_logging
from offhook.intake.demo import DEMO_PASSWORD, seed_demo
from offhook.settings.config import Config, default_data_dir
from offhook.settings.language import N_
from offhook.store import Store, StoreError

SERVE_HELP = N_("Run the offhook server (database from OFFHOOK_DATABASE_URL, else a SQLite file).")


def serve(
    host: Annotated[str, typer.Option(help=N_("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=N_("Port to listen on."), min=1, max=65535)] = 8000,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=N_("Log more."))] = False,
) -> None:
    setup_logging(verbose)
    config = load_config()
    offhook = Offhook(config)
    _run(offhook, host, port)


def _run(offhook: Offhook, host: str, port: int) -> None:
    # Imported here, not at the top: the web app (FastAPI, every page, the templates) doubles
    # the start-up time of every other command, `offhook --help` included.
    from offhook.web.server import server_for

    try:
        offhook.prepare()
    except StoreError as exc:
        fail(str(exc))
    server_for(offhook, host, port).run()


def base_url(host: str, port: int) -> str:
    """Where a browser or a command on this machine reaches a server listening on host:port."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def demo_hints(config: Config, host: str, port: int) -> tuple[str, str]:
    """The commands the demo suggests, complete for its settings: they work as printed from
    another shell (the simulator's token is found in the demo's data folder, the database in
    the same folder)."""
    env = ["OFFHOOK_DEMO=1"]
    if config.data_dir != default_data_dir():
        env.insert(0, f"OFFHOOK_DATA_DIR={shlex.quote(str(config.data_dir))}")
    data_env = " ".join(env[:-1])
    url = (
        ""
        if port == 8000 and base_url(host, port) == "http://127.0.0.1:8000"
        else (f" --url {base_url(host, port)}")
    )
    simulate = f"offhook simulate call --from '+41 44 668 18 00'{url}"
    if data_env:
        simulate = f"{data_env} {simulate}"
    lookup = f"{' '.join(env)} offhook lookup '+41 44 668 18 12'"
    return simulate, lookup


DEMO_HELP = N_("Start offhook with a demo firm, two users and a simulated office PBX.")


def demo(
    host: Annotated[str, typer.Option(help=N_("Address to listen on."))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=N_("Port to listen on."), min=1, max=65535)] = 8000,
    call_every: Annotated[
        float, typer.Option(help=N_("Seconds between calls that come in by themselves (0: none)."))
    ] = 90.0,
    fresh: Annotated[bool, typer.Option(help=N_("Start over with new demo data."))] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=N_("Log more."))] = False,
) -> None:
    setup_logging(verbose)
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
    where = base_url(host, port)
    simulate, lookup = demo_hints(config, host, port)
    out.print(
        f"\n[bold]offhook demo[/] is starting at [link={where}]{where}[/link]\n"
        f"  log in as [bold]anna[/] (or [bold]ben[/]) with the password [bold]{DEMO_PASSWORD}[/]\n"
        f"  simulate a call: [cyan]{escape(simulate)}[/]"
        f" (to the team's ring group: [cyan]--to 600[/])\n"
        f"  look a number up: [cyan]{escape(lookup)}[/]\n"
        f"  data: {store.engine.url.render_as_string(hide_password=True)}\n",
        highlight=False,
    )
    _run(offhook, host, port)
