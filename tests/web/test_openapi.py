"""/api/docs documents every JSON route, the journal entry and each message of the live stream."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from offhook.app import Offhook
from offhook.journal.entry import STREAM_MESSAGES
from offhook.web.app import ROUTERS, create_app


def openapi(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_every_api_route_is_documented(offhook: Offhook) -> None:
    paths = create_app(offhook).openapi()["paths"]
    api_routes = [
        (route.path, method.lower())
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
        for method in route.methods
        if method != "HEAD"
    ]
    assert ("/api/journal", "get") in api_routes
    missing = [route for route in api_routes if route[1] not in paths.get(route[0], {})]
    assert not missing, f"not in /api/docs: {missing}"
    # And nothing else: the pages, which answer with HTML, stay out.
    assert [path for path in paths if not path.startswith("/api/")] == []


def test_the_journal_and_its_entry_are_documented(client: TestClient) -> None:
    document = openapi(client)
    schemas = document["components"]["schemas"]
    assert {"JournalSnapshot", "JournalEntry", "EntryLine", "LineStatus"} <= set(schemas)
    entry = schemas["JournalEntry"]["properties"]
    assert entry["answered_by"]["description"]
    assert {"id", "line", "number", "can", "end_reason_label", "icon_label"} <= set(entry)
    ok = document["paths"]["/api/journal"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JournalSnapshot"
    }


def test_each_stream_message_is_documented(client: TestClient) -> None:
    document = openapi(client)
    schemas = document["components"]["schemas"]
    ok = document["paths"]["/api/journal/stream"]["get"]["responses"]["200"]
    schema = ok["content"]["text/event-stream"]["schema"]
    documented = {one["$ref"].rsplit("/", 1)[1] for one in schema["oneOf"]}
    assert documented == {model.__name__ for model in STREAM_MESSAGES.values()}
    assert documented <= set(schemas)
    for name in STREAM_MESSAGES:
        assert f"`{name}`" in ok["description"]
    assert schemas["CallChanged"]["properties"]["entry"] == {
        "$ref": "#/components/schemas/JournalEntry"
    }
