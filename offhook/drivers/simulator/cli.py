"""`offhook simulate call`: let a call come in on a simulated line of a running server.

It talks to the server's HTTP API with the standard library only, so it works after a plain
`pip install offhook`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from offhook.drivers.simulator.driver import Outcome
from offhook.settings.config import Config
from offhook.settings.language import N_, _

app = typer.Typer(
    name="simulate",
    help=N_("Simulated calls on a running server (the simulator driver)."),
    no_args_is_help=True,
)
# Soft-wrapped like offhook's own commands: a URL in a message stays on one line.
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)
OUTCOMES: tuple[Outcome, ...] = ("ringing", "answered", "missed", "rejected", "busy")


def _fail(message: str) -> NoReturn:
    errors.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(1)


def _demo_token() -> str:
    path = Config().data_dir / "demo-token"
    try:
        return path.read_text().strip()
    except OSError:
        _fail(
            "no API token: pass --token or set OFFHOOK_TOKEN "
            "(create one with 'offhook tokens create LOGIN')"
        )


def _post(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the URL is the user's own server
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except ValueError:
            detail = exc.reason
        _fail(f"{detail} (HTTP {exc.code})")
    except (urllib.error.URLError, OSError) as exc:
        _fail(
            _("could not reach offhook at {url}: {problem}").format(
                url=url, problem=getattr(exc, "reason", exc)
            )
        )


@app.command("call", help=N_("Let a call come in on a simulated line of a running server."))
def simulate_call(
    number: Annotated[str, typer.Option("--from", help=N_("The caller's number."))],
    name: Annotated[str, typer.Option(help=N_("The caller's display name."))] = "",
    outcome: Annotated[
        str, typer.Option(help=N_("ringing (until you act), answered, missed, rejected or busy."))
    ] = "answered",
    ring: Annotated[float, typer.Option(help=N_("Seconds it rings."), min=0)] = 4.0,
    talk: Annotated[float, typer.Option(help=N_("Seconds of talk when answered."), min=0)] = 60.0,
    line: Annotated[
        int | None, typer.Option(help=N_("Line id (default: your simulated line)."))
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help=N_("An extension or ring group to ring (e.g. 600 in the demo).")),
    ] = None,
    url: Annotated[str, typer.Option(help=N_("The offhook server."), envvar="OFFHOOK_URL")] = (
        "http://127.0.0.1:8000"
    ),
    token: Annotated[
        str | None,
        typer.Option(help=N_("API token (default: the demo's)."), envvar="OFFHOOK_TOKEN"),
    ] = None,
) -> None:
    if outcome not in OUTCOMES:
        _fail(_("--outcome must be ringing, answered, missed, rejected or busy"))
    body = {
        "number": number,
        "name": name,
        "outcome": outcome,
        "ring_seconds": ring,
        "talk_seconds": talk,
        "line_id": line,
        "to": to,
    }
    data = _post(url.rstrip("/") + "/api/drivers/simulator/calls", token or _demo_token(), body)
    where = ", ".join(str(i) for i in data.get("line_ids", [data["line_id"]]))
    plural = "s" if "," in where else ""
    console.print(f"Call {data['call_ref']} is ringing on line{plural} {where}.", highlight=False)
