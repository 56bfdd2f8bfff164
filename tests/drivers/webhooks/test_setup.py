"""The set-up page of a webhook phone system: the exact address to paste, the portal steps, and
the "send a test event" check, which goes out through the public address and back in, on a
real server."""

from __future__ import annotations

import re
import time
from pathlib import Path

from offhook.app import Offhook
from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.config import Config
from offhook.settings.users import add_user
from offhook.store import Store
from tests.drivers.webhooks.site import TOKEN
from tests.factories import PASSWORD
from tests.livesite import csrf_in, live_server, logged_in


def _system(store: Store, options: dict[str, object]) -> int:
    with store.session() as session:
        install_driver(session, "sipgate", auto_load=True)
        anna = add_user(session, "anna", "Anna", PASSWORD, "admin")
        add_user(session, "ben", "Ben", PASSWORD, "user")
        system = add_phone_system(session, "sipgate", "sipgate team", options)
        add_line(session, anna, system, "w0", options={"numbers": ["+49 30 600000000"]})
        return system.id


def test_the_set_up_page_shows_the_address_and_the_test_event_arrives(
    sqlite_store: Store, tmp_path: Path
) -> None:
    system_id = _system(sqlite_store, {"url_token": TOKEN})
    offhook = Offhook(Config(data_dir=tmp_path), sqlite_store)
    with live_server(offhook) as base:
        client, _ = logged_in(base, "anna")
        system_page = client.get(f"/settings/phone-systems/{system_id}").text
        setup_url = f"/drivers/sipgate/setup/{system_id}"
        assert f'href="{setup_url}"' in system_page
        page = client.get(setup_url).text
        hook = f"{base}/drivers/sipgate/hooks/{TOKEN}"
        assert f'<code id="hook-url" class="hook-url">{hook}</code>' in page
        assert "This is a local address" in page  # 127.0.0.1: no provider reaches it
        assert "as the URL for incoming calls" in page
        assert "+49 30 600000000" in page

        done = client.post(f"{setup_url}/test", data={"csrf_token": csrf_in(page)})
        assert done.status_code == 303
        page = client.get(setup_url).text
        assert "The test event arrived through 127.0.0.1" in page
        assert "test event received through the public address" in page

        # A test event offhook did not send is refused.
        forged = client.post(
            f"/drivers/sipgate/hooks/{TOKEN}",
            content=b"event=offhook-test",
            headers={"X-Offhook-Test": "guessed", "Content-Type": "text/plain"},
        )
        assert forged.status_code == 403

        ben, _ = logged_in(base, "ben")
        assert ben.get(setup_url).status_code == 403


def test_the_test_event_says_when_the_public_address_does_not_reach_offhook(
    sqlite_store: Store, tmp_path: Path
) -> None:
    # Port 9 (discard) on this machine: nothing answers there.
    system_id = _system(sqlite_store, {"url_token": TOKEN, "public_url": "http://127.0.0.1:9"})
    offhook = Offhook(Config(data_dir=tmp_path), sqlite_store)
    with live_server(offhook) as base:
        client, _ = logged_in(base, "anna")
        setup_url = f"/drivers/sipgate/setup/{system_id}"
        page = client.get(setup_url).text
        assert f"http://127.0.0.1:9/drivers/sipgate/hooks/{TOKEN}" in page
        client.post(f"{setup_url}/test", data={"csrf_token": csrf_in(page)})
        page = client.get(setup_url).text
        assert "The test event did not arrive: the address cannot be reached" in page


def test_an_admin_sets_a_placetel_account_up_in_the_settings_pages(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """As the README says: add the phone system in Settings (its secret address made up for
    it), a line with its numbers, then read the address off the set-up page and post to it."""
    with sqlite_store.session() as session:
        install_driver(session, "placetel", auto_load=True)
        add_user(session, "anna", "Anna", PASSWORD, "admin")
    offhook = Offhook(Config(data_dir=tmp_path), sqlite_store)
    with live_server(offhook) as base:
        client, csrf = logged_in(base, "anna")
        form = client.get("/settings/phone-systems/new?driver=placetel").text
        assert 'name="opt.shared_secret"' in form and 'name="opt.url_token"' in form
        added = client.post(
            "/settings/phone-systems",
            data={
                "csrf_token": csrf,
                "driver": "placetel",
                "name": "Placetel Beispiel",
                "opt.public_url": "https://crm.beispiel.de/",
                "opt.shared_secret": "",
                "opt.url_token": "",
                "opt.api_url": "https://api.placetel.de/v2",
                "opt.api_token": "",
            },
        )
        assert added.status_code == 303, added.text
        system_url = added.headers["location"]
        system_id = int(system_url.rsplit("/", 1)[1])
        line = client.post(
            "/settings/lines",
            data={
                "csrf_token": csrf,
                "user_id": "1",
                "phone_system_id": str(system_id),
                "address": "7777abcdefg@fpbx.de",
                "opt.numbers": "030 600000000\n022129191999",
            },
        )
        assert line.status_code == 303, line.text
        page = client.get(f"/drivers/placetel/setup/{system_id}").text
        match = re.search(r'<code id="hook-url" class="hook-url">([^<]+)</code>', page)
        assert match, page
        hook = match.group(1)
        assert hook.startswith("https://crm.beispiel.de/drivers/placetel/hooks/")
        assert len(hook.rsplit("/", 1)[1]) >= 32  # made up: 24 random bytes
        path = hook.removeprefix("https://crm.beispiel.de")
        body = "event=IncomingCall&from=02111234567&to=022129191999&call_id=abc&direction=in"
        pushed = client.post(
            path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert pushed.status_code == 200
        journal = client.get("/api/journal").json()["entries"]
        deadline = time.monotonic() + 10
        while not journal and time.monotonic() < deadline:
            time.sleep(0.05)
            journal = client.get("/api/journal").json()["entries"]
        assert [(e["state"], e["number"]["raw"]) for e in journal] == [("ringing", "02111234567")]
