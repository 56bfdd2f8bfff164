"""What drivers contribute to the web: their routes, their static files, their page scripts.

A driver names them in its class (see `offhook.drivers.contract.Driver`); the web serves them
for every driver found on this machine, and answers a driver's routes only while an admin has
it installed (Settings > Interfaces > Extensions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from offhook.drivers.registry import available_drivers, contribution
from offhook.store.models import InstalledDriver
from offhook.web.context import offhook_of

log = logging.getLogger(__name__)


def _installed(name: str) -> Callable[[HTTPConnection], Coroutine[Any, Any, None]]:
    async def check(request: HTTPConnection) -> None:
        with offhook_of(request).store.session() as session:
            row = session.get(InstalledDriver, name)
            if row is None or not row.installed:
                raise HTTPException(404, f"The {name} driver is not installed here.")

    return check


def add_driver_parts(app: FastAPI) -> None:
    for name, info in available_drivers().items():
        cls = info.driver
        if cls is None:
            continue
        if cls.static_dir is not None and cls.static_dir.is_dir():
            app.mount(
                f"/drivers/{name}/static",
                StaticFiles(directory=cls.static_dir),
                name=f"driver-{name}-static",
            )
        if cls.routes is None:
            continue
        try:
            router = contribution(cls, cls.routes)
            if not isinstance(router, APIRouter):
                raise TypeError(f"{cls.routes} is not a FastAPI APIRouter")
            allowed = (f"/drivers/{name}/", f"/api/drivers/{name}/")
            stray = [
                path
                for route in router.routes
                if not (path := getattr(route, "path", "")).startswith(allowed)
            ]
            if stray:
                raise ValueError(f"routes outside {' or '.join(allowed)}: {', '.join(stray)}")
        except Exception as exc:  # a broken third-party driver must not take the server down
            log.error("the routes of driver %r are not served: %s", name, exc)
            continue
        app.include_router(router, dependencies=[Depends(_installed(name))])


@dataclass(frozen=True, slots=True)
class PageAssets:
    """What every page loads for the installed drivers."""

    scripts: list[str]
    styles: list[str]
    #: The English texts the scripts show (`Driver.page_texts`).
    texts: tuple[str, ...] = ()


def page_assets(session: Session) -> PageAssets:
    installed = set(
        session.scalars(select(InstalledDriver.name).where(InstalledDriver.installed.is_(True)))
    )
    drivers = [
        (name, info.driver)
        for name, info in available_drivers().items()
        if name in installed and info.driver is not None
    ]
    return PageAssets(
        scripts=[f"/drivers/{n}/static/{f}" for n, cls in drivers for f in cls.page_scripts],
        styles=[f"/drivers/{n}/static/{f}" for n, cls in drivers for f in cls.page_styles],
        texts=tuple(text for _name, cls in drivers for text in cls.page_texts),
    )
