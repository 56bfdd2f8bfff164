"""Password guessing from many addresses is throttled for the account as a whole, while the
user's own browsers (holding a device cookie from an earlier login) log in at once.

Found by a check of issue 8: with 60 addresses × 3 tries, every new address got an unthrottled
guess (66 of 180 guesses were checked). Reproduced against a live server; uvicorn believes
X-Forwarded-For from 127.0.0.1, as it would from a local proxy, so each client below comes from
an address of its own.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.settings.login_throttle import ACCOUNT, DeviceCookies
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.web.pages.login import DEVICE_COOKIE
from tests import factories
from tests.livesite import csrf_in, live_server

NOT_AFFECTED = "A browser you have logged in with before is not affected."


def _client(base: str, address: str, device: str | None = None) -> httpx.Client:
    cookies = {DEVICE_COOKIE: device} if device is not None else None
    return httpx.Client(
        base_url=base, headers={"X-Forwarded-For": address}, cookies=cookies, timeout=60
    )


def _log_in(client: httpx.Client, login: str, password: str) -> httpx.Response:
    csrf = csrf_in(client.get("/login").text)
    return client.post("/login", data={"login": login, "password": password, "csrf_token": csrf})


def test_a_distributed_guesser_is_throttled_and_the_users_browser_is_not(
    sqlite_store: Store, tmp_path: Path
) -> None:
    factories.user_with_line(sqlite_store)
    with sqlite_store.session() as session:
        add_user(session, "bob", "Bob", factories.PASSWORD)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        # Anna's laptop and Bob's browser have logged in before: each holds a device cookie.
        laptop = _client(base, "198.51.100.7")
        answer = _log_in(laptop, "anna", factories.PASSWORD)
        assert answer.status_code == 303
        set_cookie = next(
            header
            for header in answer.headers.get_list("set-cookie")
            if header.startswith(f"{DEVICE_COOKIE}=")
        ).lower()
        assert "httponly" in set_cookie
        assert "samesite=lax" in set_cookie
        assert "secure" not in set_cookie.replace("httponly", "")  # served over plain HTTP
        anna_device = laptop.cookies[DEVICE_COOKIE]
        bobs_browser = _client(base, "198.51.100.8")
        assert _log_in(bobs_browser, "bob", factories.PASSWORD).status_code == 303
        bob_device = bobs_browser.cookies[DEVICE_COOKIE]

        # 60 addresses, three guesses each, eight at a time.
        def guesses_from(n: int) -> list[httpx.Response]:
            with _client(base, f"10.1.{n // 200}.{n % 200 + 1}") as guesser:
                return [_log_in(guesser, "anna", f"guess {n}.{k}") for k in range(3)]

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = [answer for three in pool.map(guesses_from, range(60)) for answer in three]
        lasted = time.monotonic() - started
        statuses = [answer.status_code for answer in answers]
        checked = statuses.count(401)
        # The account's allowance, shared by every address: a few free guesses, then one after
        # 1, 2, 4 … seconds, whatever the number of addresses (the bound follows from how long
        # the attack lasted; it cannot grow with the addresses).
        assert checked <= ACCOUNT.free + math.floor(math.log2(lasted + 1)) + 1
        assert checked < 60  # not even one guess per address
        assert statuses.count(429) == 180 - checked
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert "Too many attempts; try again in " in refused.text
        assert NOT_AFFECTED in refused.text

        # A new address without a device cookie waits too, even with the right password …
        with _client(base, "192.0.2.50") as stranger:
            answer = _log_in(stranger, "anna", factories.PASSWORD)
            assert answer.status_code == 429
            assert NOT_AFFECTED in answer.text
            stranger.headers["Accept-Language"] = "de-CH"
            answer = _log_in(stranger, "anna", factories.PASSWORD)
            assert answer.status_code == 429
            assert "Ein Browser, mit dem Sie sich schon angemeldet haben" in answer.text
        # … as do a forged device cookie, one signed with another secret, and Bob's.
        forged = anna_device[:-4] + ("AAAA" if not anna_device.endswith("AAAA") else "BBBB")
        for device in (forged, DeviceCookies("another secret").issue("anna"), bob_device):
            with _client(base, "192.0.2.51", device) as holder:
                answer = _log_in(holder, "anna", factories.PASSWORD)
                assert answer.status_code == 429
                assert NOT_AFFECTED in answer.text

        # Anna's laptop, even from a new address, is not slowed: a typo is just a typo …
        laptop.headers["X-Forwarded-For"] = "203.0.113.77"
        assert _log_in(laptop, "anna", "a typo").status_code == 401
        answer = _log_in(laptop, "anna", factories.PASSWORD)
        assert answer.status_code == 303
        assert laptop.get("/api/journal").status_code == 200
        # … and the guesser is still throttled after she logged in.
        with _client(base, "10.2.0.1") as guesser:
            assert _log_in(guesser, "anna", "one more guess").status_code == 429
        laptop.close()
        bobs_browser.close()


def test_the_device_cookie_is_secure_when_cookies_are(sqlite_store: Store, tmp_path: Path) -> None:
    factories.user_with_line(sqlite_store)
    config = Config(data_dir=tmp_path, secure_cookies=True)
    with live_server(Offhook(config, sqlite_store)) as base, _client(base, "198.51.100.9") as c:
        form = c.get("/login")
        # The test speaks plain HTTP, over which a client keeps secure cookies to itself: the
        # session cookie is handed on by hand.
        session = form.headers["set-cookie"].split(";")[0]
        answer = c.post(
            "/login",
            data={
                "login": "anna",
                "password": factories.PASSWORD,
                "csrf_token": csrf_in(form.text),
            },
            headers={"Cookie": session},
        )
        assert answer.status_code == 303
        set_cookie = next(
            header
            for header in answer.headers.get_list("set-cookie")
            if header.startswith(f"{DEVICE_COOKIE}=")
        ).lower()
        assert "; secure" in set_cookie
        assert "; httponly" in set_cookie
