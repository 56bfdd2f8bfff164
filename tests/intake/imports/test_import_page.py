"""The import pages: upload, preview with column mapping, check, import, report."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from offhook.store import Store
from offhook.store.models import Address
from tests import factories
from tests.web.conftest import log_in

CSV = (
    "Vorname;Nachname;Firma;Telefon;Notiz\r\n"
    "Anna;Müller;Muster AG;044 668 18 12;VIP\r\n"
    "Peter;Keller;Muster AG;044 668 18 10;\r\n"
    ";;;12;\r\n"
).encode("cp1252")


def _count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Address)) or 0)


def _upload(client: TestClient, csrf: str, name: str, data: bytes) -> str:
    response = client.post(
        "/imports", data={"csrf_token": csrf}, files={"file": (name, data, "text/plain")}
    )
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


def _mapping(page: str) -> dict[str, str]:
    selects = re.findall(r'<select name="(column_\d+)".*?</select>', page, re.DOTALL)
    chosen = {}
    for name in selects:
        block = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        match = re.search(r'<option value="([^"]*)" selected', block)
        chosen[name] = match.group(1) if match else ""
    return chosen


def test_csv_preview_mapping_check_and_import(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    location = _upload(client, csrf, "kontakte.csv", CSV)
    page = client.get(location)
    assert page.status_code == 200
    assert "Windows-1252, columns separated by semicolon" in page.text
    assert "Müller" in page.text
    mapping = _mapping(page.text)
    assert mapping == {
        "column_0": "first_name",
        "column_1": "last_name",
        "column_2": "company_name",
        "column_3": "phone",
        "column_4": "notes",
    }
    check = client.post(location, data={"csrf_token": csrf, "action": "check", **mapping})
    assert check.status_code == 200 and "Nothing was imported yet" in check.text
    assert _count(store) == 0
    done = client.post(location, data={"csrf_token": csrf, "action": "import", **mapping})
    assert done.status_code == 200
    assert "Not imported" in done.text and "no name and no company" in done.text
    assert _count(store) == 3  # two contact persons and their company
    assert client.get(location).status_code == 404  # the upload is gone


def test_choosing_nothing_to_import_is_refused(
    serve: Callable[[], TestClient], store: Store
) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    location = _upload(client, csrf, "kontakte.csv", CSV)
    response = client.post(location, data={"csrf_token": csrf, "action": "import"})
    assert response.status_code == 422 and "at least one column" in response.text
    twice = {"column_0": "last_name", "column_1": "last_name"}
    response = client.post(location, data={"csrf_token": csrf, "action": "import", **twice})
    assert response.status_code == 422 and "Only one column" in response.text
    other = client.get(location, params={"delimiter": ",", "encoding": "cp1252"})
    assert "separated by comma" in other.text


def test_vcard_import(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Anna;;;\r\nTEL;TYPE=CELL:079 412 33 18\r\n"
        "END:VCARD\r\n"
    ).encode()
    location = _upload(client, csrf, "anna.vcf", card)
    page = client.get(location)
    assert "1 card" in page.text and "079 412 33 18" in page.text
    done = client.post(location, data={"csrf_token": csrf, "action": "import"})
    assert done.status_code == 200 and _count(store) == 1


def test_bad_uploads(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store)
    client = serve()
    csrf = log_in(client, "anna")
    empty = client.post(
        "/imports", data={"csrf_token": csrf}, files={"file": ("x.csv", b"", "text/csv")}
    )
    assert empty.status_code == 422 and "empty" in empty.text
    binary = _upload(client, csrf, "x.csv", b"\x00\x01\x02 not text")
    assert "binary data" in client.get(binary).text
    client.headers["Accept-Language"] = "de-CH"  # why, in the user's language
    assert "Binärdaten" in client.get(binary).text
    assert client.get("/imports/../../etc/passwd").status_code == 404
    assert client.get("/imports/" + "a" * 30).status_code == 404


def test_only_admins_import(serve: Callable[[], TestClient], store: Store) -> None:
    factories.user_with_line(store, "ben", role="user")
    client = serve()
    csrf = log_in(client, "ben")
    assert client.get("/imports").status_code == 403
    response = client.post(
        "/imports", data={"csrf_token": csrf}, files={"file": ("x.csv", CSV, "text/csv")}
    )
    assert response.status_code == 403
