"""The import page against hostile choices and files, on a live server (issue 8, defect 8):
`?encoding=punycode` and `delimiter=ab` answered 500, an unclosed quote silently merged the
rows after it into one value, and a 20,000-column file could not be mapped (400)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
from sqlalchemy import select

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.store import Store
from offhook.store.models import Address
from tests import factories
from tests.livesite import live_server, logged_in


def _upload(client: httpx.Client, csrf: str, data: bytes) -> str:
    response = client.post(
        "/imports", data={"csrf_token": csrf}, files={"file": ("book.csv", data, "text/csv")}
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_hostile_import_choices_and_files(sqlite_store: Store, tmp_path: Path) -> None:
    factories.user_with_line(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        client, csrf = logged_in(base, "anna")
        book = 'Name;Telefon\nAnna;044 111 11 11\nBen;"044 222 22 22\nCara;044 333 33 33\n'
        location = _upload(client, csrf, book.encode())

        for query, message in [
            ({"encoding": "punycode"}, "is not an encoding text files are written in"),
            ({"encoding": "rot13"}, "is not an encoding text files are written in"),
            ({"encoding": "klingon"}, "is not an encoding offhook knows"),
            ({"delimiter": "ab"}, "the delimiter is one character"),
            ({"delimiter": '"'}, "the delimiter is one character"),
        ]:
            page = client.get(location, params=query)
            assert page.status_code == 422, (query, page.status_code)
            assert message in html.unescape(page.text), query
            assert '<input type="file"' in page.text  # the upload form, to go on from
            posted = client.post(location, data={"csrf_token": csrf, "column_0": "name", **query})
            assert posted.status_code == 422, (query, posted.status_code)
            assert message in html.unescape(posted.text)

        # The unclosed quote costs its own row, reported where it begins, and no other.
        report = client.post(
            location,
            data={"csrf_token": csrf, "column_0": "name", "column_1": "phone", "action": "import"},
        )
        assert report.status_code == 200
        text = html.unescape(report.text)
        assert "a quote opened in this row is never closed" in text
        assert re.search(r'<td class="num">2</td><td class="num muted">3</td>', report.text)
        with sqlite_store.session() as session:
            names = sorted(session.scalars(select(Address.last_name)))
        assert names == ["Anna", "Cara"]

        wide = ";".join(f"c{n}" for n in range(20_000)) + "\n" + "x;" * 19_999 + "x\n"
        location = _upload(client, csrf, wide.encode())
        page = client.get(location)
        assert page.status_code == 422
        assert "20000 columns; at most 500 can be imported" in html.unescape(page.text)
        client.close()
