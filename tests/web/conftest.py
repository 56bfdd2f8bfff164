"""A real offhook app over a real store, driven in-process."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from offhook.web.app import create_app
from tests.factories import PASSWORD


def make_app(store: Store, tmp_path: Path, **config: object) -> Offhook:
    return Offhook(Config(data_dir=tmp_path, ring_timeout=300, **config), store)  # type: ignore[arg-type]


@pytest.fixture
def offhook(store: Store, tmp_path: Path) -> Offhook:
    return make_app(store, tmp_path)


@pytest.fixture
def serve(offhook: Offhook) -> Iterator[Callable[[], TestClient]]:
    """Start the app (as a server start would: auto-loaded lines begin) once data is in place."""
    with ExitStack() as stack:
        app = create_app(offhook)

        def start() -> TestClient:
            return stack.enter_context(TestClient(app, follow_redirects=False))

        yield start


@pytest.fixture
def client(serve: Callable[[], TestClient]) -> TestClient:
    """A client of an app started before the test adds anything."""
    return serve()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(client: TestClient, login: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token for API calls."""
    page = client.get("/login")
    response = client.post(
        "/login", data={"login": login, "password": password, "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)
