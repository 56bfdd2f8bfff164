"""The command groups drivers contribute (`Driver.commands`), added to the `offhook` command."""

from __future__ import annotations

import logging

import typer

from offhook.drivers.registry import available_drivers, contribution

log = logging.getLogger(__name__)


def add_driver_commands(app: typer.Typer) -> None:
    taken = {group.name for group in app.registered_groups} | {
        command.name for command in app.registered_commands
    }
    for name, info in available_drivers().items():
        if info.driver is None or info.driver.commands is None:
            continue
        try:
            group = contribution(info.driver, info.driver.commands)
            if not isinstance(group, typer.Typer):
                raise TypeError(f"{info.driver.commands} is not a Typer app")
        except Exception as exc:  # a broken third-party driver must not break the command
            log.warning("the commands of driver %r are not available: %s", name, exc)
            continue
        command = group.info.name if isinstance(group.info.name, str) else name
        if command in taken:
            log.warning("driver %r names its commands %r, which offhook uses", name, command)
            continue
        taken.add(command)
        app.add_typer(group, name=command)
