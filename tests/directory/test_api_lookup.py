"""GET /api/lookup: the matches of `directory.lookup`, for the number as a phone system gives it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from offhook.store import Store
from tests import factories
from tests.web.conftest import log_in, offhook, serve

__all__ = ["offhook", "serve"]  # the web app fixtures

REQUIRED = {"address_id", "name", "match", "number_as_entered", "full_address"}


def test_api_lookup(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store, login="ben", extension="231")
    company = factories.address(
        store, kind="company", company="Muster AG", numbers=(("phone", "044 668 18 00"),)
    )
    anna = factories.address(store, numbers=(("phone", "+41 44 668 18 12"),))
    client = serve()
    assert client.get("/api/lookup", params={"number": "0446681812"}).status_code == 401
    log_in(client, "ben")

    def found(number: str) -> list[dict[str, object]]:
        response = client.get("/api/lookup", params={"number": number})
        assert response.status_code == 200, response.text
        matches: list[dict[str, object]] = response.json()
        assert all(match.keys() >= REQUIRED for match in matches)
        return matches

    exact = found("sip:+41446681812@pbx;user=phone")
    assert [(m["address_id"], m["match"]) for m in exact] == [(anna.id, "exact")]
    assert exact[0]["number_as_entered"] == "+41 44 668 18 12"
    switchboard = found("+41 44 668 18 77")
    assert [(m["address_id"], m["match"], m["approximate"]) for m in switchboard] == [
        (company.id, "switchboard", True)
    ]
    assert [(m["match"], m["name"]) for m in found("231")] == [("internal", "Ben")]
    assert found("anonymous") == [] and found("+41 32 999 88 77") == []
