"""The example driver's own command: `offhook echo-pbx say RING 1 201 +41446681812` sends a
line to an Echo PBX, as its phones would."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

app = typer.Typer(name="echo-pbx", help="Talk to an Echo PBX.", no_args_is_help=True)


@app.command()
def say(
    words: Annotated[list[str], typer.Argument(help="The line to send, e.g. RING 1 201 0441234")],
    port: Annotated[int, typer.Option(help="The PBX's port on this machine.")] = 5060,
) -> None:
    """Send one line to the Echo PBX at 127.0.0.1."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall((" ".join(words) + "\n").encode())
    typer.echo("sent")
