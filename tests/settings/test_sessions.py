"""Login sessions in the store: idle and absolute expiry, and ending them."""

from __future__ import annotations

from datetime import timedelta

from offhook.settings.sessions import end_sessions_of, session_user, start_session
from offhook.settings.users import add_user
from offhook.store import Store
from offhook.store.types import utcnow
from tests import factories

DAY = 24 * 3600.0


def test_a_session_ends_when_idle_and_at_its_absolute_limit(store: Store) -> None:
    with store.session() as db:
        user = add_user(db, "anna", "Anna", factories.PASSWORD)
        sid = start_session(db, user, max_age=14 * DAY)
    now = utcnow()
    with store.session() as db:
        assert session_user(db, sid, idle=DAY, now=now) is not None
        # Seen often enough, it lasts until its absolute limit, and not a moment longer.
        for half_day in range(1, 28):
            later = now + timedelta(hours=12 * half_day)
            assert session_user(db, sid, idle=DAY, now=later) is not None
        assert session_user(db, sid, idle=DAY, now=now + timedelta(days=14, seconds=1)) is None
        assert session_user(db, sid, idle=DAY, now=now) is None  # and it is gone

    with store.session() as db:
        sid = start_session(db, db.merge(user), max_age=14 * DAY)
    with store.session() as db:
        assert session_user(db, sid, idle=3600, now=now + timedelta(hours=2)) is None


def test_ending_a_users_sessions_leaves_other_users_logged_in(store: Store) -> None:
    with store.session() as db:
        anna = add_user(db, "anna", "Anna", factories.PASSWORD)
        ben = add_user(db, "ben", "Ben", factories.PASSWORD)
        anna_sid = start_session(db, anna, max_age=DAY)
        ben_sid = start_session(db, ben, max_age=DAY)
        end_sessions_of(db, anna.id)
    with store.session() as db:
        assert session_user(db, anna_sid, idle=DAY) is None
        assert session_user(db, ben_sid, idle=DAY) is not None
        assert session_user(db, "", idle=DAY) is None
        assert session_user(db, "x" * 10_000, idle=DAY) is None
