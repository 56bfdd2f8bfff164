"""`offhook simulate`: calls on a simulated line of a running server."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from offhook.cli.common import fail, load_config, out

simulate_app = typer.Typer(help="Calls on a simulated line.", no_args_is_help=True)


@simulate_app.command("call")
def simulate_call(
    number: Annotated[str, typer.Option("--from", help="The caller's number.")],
    name: Annotated[str, typer.Option(help="The caller's display name.")] = "",
    outcome: Annotated[
        str, typer.Option(help="ringing (until you act), answered, missed, rejected or busy.")
    ] = "answered",
    ring: Annotated[float, typer.Option(help="Seconds it rings.", min=0)] = 4.0,
    talk: Annotated[float, typer.Option(help="Seconds of talk when answered.", min=0)] = 60.0,
    line: Annotated[
        int | None, typer.Option(help="Line id (default: your simulated line).")
    ] = None,
    url: Annotated[str, typer.Option(help="The offhook server.", envvar="OFFHOOK_URL")] = (
        "http://127.0.0.1:8000"
    ),
    token: Annotated[
        str | None, typer.Option(help="API token (default: the demo's).", envvar="OFFHOOK_TOKEN")
    ] = None,
) -> None:
    """Let a call come in on a simulated line of a running server."""
    if outcome not in ("ringing", "answered", "missed", "rejected", "busy"):
        fail("--outcome must be ringing, answered, missed, rejected or busy")
    token = token or _demo_token()
    body = {
        "number": number,
        "name": name,
        "outcome": outcome,
        "ring_seconds": ring,
        "talk_seconds": talk,
        "line_id": line,
    }
    try:
        response = httpx.post(
            url.rstrip("/") + "/api/simulator/calls",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        fail(f"could not reach offhook at {url}: {exc}")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        fail(f"{detail} (HTTP {response.status_code})")
    data = response.json()
    out.print(f"Call {data['call_ref']} is ringing on line {data['line_id']}.", highlight=False)


def _demo_token() -> str:
    path = load_config().data_dir / "demo-token"
    try:
        return path.read_text().strip()
    except OSError:
        fail(
            "no API token: pass --token or set OFFHOOK_TOKEN "
            "(create one with 'offhook tokens create LOGIN')"
        )
