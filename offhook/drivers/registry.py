"""Finding the installed line drivers through the entry-point group `offhook.drivers`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

from offhook.drivers.contract import LineDriver

log = logging.getLogger(__name__)

GROUP = "offhook.drivers"


@dataclass(frozen=True, slots=True)
class DriverInfo:
    """A driver found on this machine; `error` says why it cannot be used, if it cannot."""

    name: str
    title: str
    description: str
    driver: type[LineDriver] | None
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
            if not (isinstance(loaded, type) and issubclass(loaded, LineDriver)):
                raise TypeError(f"{point.value} is not a LineDriver")
        except Exception as exc:  # a broken third-party driver must not take offhook down
            log.warning("line driver %r could not be loaded: %s", point.name, exc)
            found[point.name] = DriverInfo(
                point.name, point.name, "", None, f"could not be loaded: {exc}", package
            )
            continue
        found[point.name] = DriverInfo(
            point.name, loaded.title, loaded.description, loaded, None, package
        )
    return dict(sorted(found.items()))


def driver_class(name: str) -> type[LineDriver]:
    info = available_drivers().get(name)
    if info is None:
        raise LookupError(f"no line driver named {name!r} is installed")
    if info.driver is None:
        raise LookupError(f"the line driver {name!r} {info.error}")
    return info.driver
