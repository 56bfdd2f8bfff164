"""Finding the installed drivers through the entry-point group `offhook.drivers`, and what
each contributes besides its phone system (routes, commands)."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

from offhook.drivers.contract import Driver

log = logging.getLogger(__name__)

GROUP = "offhook.drivers"


@dataclass(frozen=True, slots=True)
class DriverInfo:
    """A driver found on this machine; `error` says why it cannot be used, if it cannot."""

    name: str
    title: str
    description: str
    driver: type[Driver] | None
    error: str | None = None
    package: str = ""

    @property
    def usable(self) -> bool:
        return self.driver is not None


@cache
def available_drivers() -> dict[str, DriverInfo]:
    """Every driver an installed package offers, by name; broken ones are listed with why."""
    found: dict[str, DriverInfo] = {}
    for point in entry_points(group=GROUP):
        package = point.dist.name if point.dist else ""
        try:
            loaded = point.load()
            if not (isinstance(loaded, type) and issubclass(loaded, Driver)):
                raise TypeError(f"{point.value} is not a Driver")
            if loaded.name != point.name:
                raise TypeError(f"its class calls it {loaded.name!r}")
        except Exception as exc:  # a broken third-party driver must not take offhook down
            log.warning("driver %r could not be loaded: %s", point.name, exc)
            found[point.name] = DriverInfo(
                point.name, point.name, "", None, f"could not be loaded: {exc}", package
            )
            continue
        found[point.name] = DriverInfo(
            point.name, loaded.title, loaded.description, loaded, None, package
        )
    return dict(sorted(found.items()))


def driver_class(name: str) -> type[Driver]:
    info = available_drivers().get(name)
    if info is None:
        raise LookupError(f"no driver named {name!r} is installed")
    if info.driver is None:
        raise LookupError(f"the driver {name!r} {info.error}")
    return info.driver


def contribution(driver: type[Driver], reference: str) -> object:
    """What a driver names as "module:attribute" (its router, its command group)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{reference!r} is not of the form 'module:attribute'")
    value: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value
