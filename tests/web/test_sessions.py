"""Sessions live on the server: a cookie copied before logout, a new password or a
deactivation is worth nothing afterwards, and an idle session ends by itself.

Issue 8, defect 7: a copy of the session cookie taken before logout still read the journal and
placed calls for its 14 days. Reproduced against a live server.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from offhook.app import Offhook
from offhook.settings.config import Config
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.store.models import LoginSession
from offhook.store.types import utcnow
from tests import factories
from tests.livesite import csrf_in, live_server, logged_in
from tests.web.test_journal import wait_for


def _thief(base: str, victim: httpx.Client) -> httpx.Client:
    """Another client with a copy of `victim`'s cookies."""
    return httpx.Client(base_url=base, cookies=dict(victim.cookies), follow_redirects=False)


def _dial(client: httpx.Client, csrf: str) -> int:
    response = client.post(
        "/api/dial", json={"number": "044 668 18 12"}, headers={"X-CSRF-Token": csrf}
    )
    return response.status_code


def test_a_cookie_copied_before_logout_is_worthless_after_it(store: Store, tmp_path: Path) -> None:
    factories.user_with_line(store)
    with live_server(Offhook(Config(data_dir=tmp_path), store)) as base:
        anna, csrf = logged_in(base, "anna")
        thief = _thief(base, anna)
        assert thief.get("/api/journal").status_code == 200
        assert anna.post("/logout", data={"csrf_token": csrf}).status_code == 303
        assert thief.get("/api/journal").status_code == 401
        assert _dial(thief, csrf) == 401
        assert thief.get("/calls").headers["location"].startswith("/login")
        with store.session() as session:
            assert session.scalars(select(LoginSession)).all() == []
        anna.close()
        thief.close()


def test_a_new_password_ends_every_other_session(sqlite_store: Store, tmp_path: Path) -> None:
    factories.user_with_line(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        laptop, laptop_csrf = logged_in(base, "anna")
        phone, _ = logged_in(base, "anna")
        new = "a much better passphrase"
        changed = laptop.post(
            "/settings/profile/password",
            data={
                "csrf_token": laptop_csrf,
                "current": factories.PASSWORD,
                "password": new,
                "confirm": new,
            },
        )
        assert changed.status_code == 303
        assert phone.get("/api/journal").status_code == 401
        # The browser the password was changed in goes on, with a session of its own.
        assert laptop.get("/api/journal").status_code == 200
        assert "Password changed" in laptop.get("/settings/profile").text
        laptop.close()
        phone.close()


def test_an_admins_new_password_or_deactivation_logs_the_user_out(
    sqlite_store: Store, tmp_path: Path
) -> None:
    factories.user_with_line(sqlite_store)
    with sqlite_store.session() as session:
        ben = add_user(session, "ben", "Ben", factories.PASSWORD).id
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        admin, csrf = logged_in(base, "anna")
        user, _ = logged_in(base, "ben")
        assert user.get("/api/journal").status_code == 200
        data = {"csrf_token": csrf, "password": "another good password"}
        assert admin.post(f"/settings/users/{ben}/password", data=data).status_code == 303
        assert user.get("/api/journal").status_code == 401

        user, _ = logged_in(base, "ben", "another good password")
        assert user.get("/api/journal").status_code == 200
        done = admin.post(f"/settings/users/{ben}/deactivate", data={"csrf_token": csrf})
        assert done.status_code == 303
        assert user.get("/api/journal").status_code == 401
        admin.close()
        user.close()


def test_an_idle_session_ends(sqlite_store: Store, tmp_path: Path) -> None:
    factories.user_with_line(sqlite_store)
    idle = 1.0
    offhook = Offhook(Config(data_dir=tmp_path, session_idle=idle), sqlite_store)
    with live_server(offhook) as base:
        anna, _ = logged_in(base, "anna")
        assert anna.get("/api/journal").status_code == 200

        def idle_long_enough() -> bool:
            with sqlite_store.session() as session:
                seen = session.scalars(select(LoginSession.last_seen_at)).one()
            return utcnow() - seen > timedelta(seconds=idle)

        wait_for(idle_long_enough, "the session to be idle for longer than allowed")
        assert anna.get("/api/journal").status_code == 401
        with sqlite_store.session() as session:
            assert session.scalars(select(LoginSession)).all() == []
        anna.close()


def test_password_guessing_is_throttled_without_locking_the_user_out(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """Issue 8, defect 6: 40 wrong passwords in 4 s, then the right one accepted at once."""
    factories.user_with_line(sqlite_store)
    with live_server(Offhook(Config(data_dir=tmp_path), sqlite_store)) as base:
        # uvicorn believes X-Forwarded-For from 127.0.0.1, as it would from a local proxy: so
        # each client below comes from an address of its own.
        def client_from(address: str) -> httpx.Client:
            return httpx.Client(base_url=base, headers={"X-Forwarded-For": address}, timeout=30)

        # The user has logged in from this browser before: it holds a device cookie.
        user = client_from("198.51.100.7")
        answer = user.post(
            "/login",
            data={
                "login": "anna",
                "password": factories.PASSWORD,
                "csrf_token": csrf_in(user.get("/login").text),
            },
        )
        assert answer.status_code == 303
        guesser = client_from("203.0.113.5")
        csrf = csrf_in(guesser.get("/login").text)

        def guess(password: str) -> httpx.Response:
            return guesser.post(
                "/login", data={"login": "anna", "password": password, "csrf_token": csrf}
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(guess, [f"guess number {n}" for n in range(40)]))
        statuses = [answer.status_code for answer in answers]
        # Three free guesses; then one after a second, after two more … while the burst lasts.
        assert statuses.count(401) <= 8
        assert statuses.count(429) == 40 - statuses.count(401)
        assert "Too many attempts; try again in " in answers[-1].text
        # The right password from the guessing address is not accepted at once …
        assert guess(factories.PASSWORD).status_code == 429
        # … and the user, in their own browser, logs in as always.
        page = user.get("/login").text
        answer = user.post(
            "/login",
            data={"login": "anna", "password": factories.PASSWORD, "csrf_token": csrf_in(page)},
        )
        assert answer.status_code == 303
        assert user.get("/api/journal").status_code == 200
        guesser.close()
        user.close()
