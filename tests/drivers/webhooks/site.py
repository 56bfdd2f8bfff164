"""A real offhook app with one webhook phone system, driven in-process through its HTTP
endpoints (the real middleware, routes and recorder), and each user's journal read back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from offhook.app import Offhook
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.config import Config
from offhook.settings.users import add_user, create_token
from offhook.store import Store
from offhook.web.app import create_app
from tests.factories import PASSWORD

TOKEN = "test-url-token-0123456789abcdef"


@dataclass
class Site:
    client: TestClient
    offhook: Offhook
    driver: str
    system_id: int
    #: Each user's API token, by login.
    tokens: dict[str, str] = field(default_factory=dict)
    line_ids: dict[str, int] = field(default_factory=dict)

    @property
    def hook(self) -> str:
        return f"/drivers/{self.driver}/hooks/{TOKEN}"

    def post(
        self,
        body: bytes | str,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        path: str | None = None,
    ) -> httpx.Response:
        data = body.encode() if isinstance(body, str) else body
        response: httpx.Response = self.client.post(
            path or self.hook,
            content=data,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        return response

    def settle(self) -> None:
        """Wait until every call event so far is recorded."""
        self.client.portal.call(self.offhook.lines.flush)  # type: ignore[union-attr]

    def journal(self, login: str) -> list[dict[str, Any]]:
        self.settle()
        response = self.client.get(
            "/api/journal", headers={"Authorization": f"Bearer {self.tokens[login]}"}
        )
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    def call(self, login: str) -> dict[str, Any]:
        """The user's one journal entry (there must be exactly one)."""
        entries = self.journal(login)
        assert len(entries) == 1, entries
        return entries[0]


@contextmanager
def webhook_site(
    store: Store,
    tmp_path: Path,
    driver: str,
    options: dict[str, Any],
    lines: Mapping[str, tuple[str, list[str]]],
    **line_options: dict[str, Any],
) -> Iterator[Site]:
    """A server with one `driver` phone system and a line for each user in `lines`
    (login: (address, numbers)); `line_options` adds options by login."""
    with store.session() as session:
        install_driver(session, driver, auto_load=True)
        system = add_phone_system(
            session, driver, f"{driver} account", {"url_token": TOKEN, **options}
        )
        tokens, line_ids = {}, {}
        for index, (login, (address, numbers)) in enumerate(lines.items()):
            user = add_user(
                session, login, login.title(), PASSWORD, "admin" if index == 0 else "user"
            )
            line = add_line(
                session,
                user,
                system,
                address,
                options={"numbers": numbers, **line_options.get(login, {})},
            )
            tokens[login] = create_token(session, user, "test")
            line_ids[login] = line.id
        system_id = system.id
    offhook = Offhook(Config(data_dir=tmp_path, ring_timeout=300), store)
    with TestClient(create_app(offhook), follow_redirects=False) as client:
        yield Site(client, offhook, driver, system_id, tokens, line_ids)
