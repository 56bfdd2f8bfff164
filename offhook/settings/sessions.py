"""Login sessions, kept in the store: a browser's cookie names one by a random id.

Only a hash of the id is stored, as for API tokens: a leaked database does not leak usable
cookies. A session ends when it is logged out, when its user gets a new password or is
deactivated, after a while without requests (idle) and at the latest after a fixed time.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from offhook.settings.touches import Touches
from offhook.store.models import LoginSession, User
from offhook.store.types import utcnow


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(db: Session, user: User, max_age: float) -> str:
    """A new session for `user`; returns the id for the cookie (only its hash is kept)."""
    now = utcnow()
    # Ended sessions are forgotten here, where a row is added anyway: no job needed.
    db.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    db.add(
        LoginSession(
            id_hash=_hash(session_id),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    db.flush()
    return session_id


def session_user(
    db: Session,
    session_id: str,
    idle: float,
    now: datetime | None = None,
    touches: Touches | None = None,
) -> User | None:
    """The active user whose live session this is; None when it ended (and then it is gone).
    Its use is noted in `touches` (written later, together with others), or without them in
    this session."""
    if not session_id or len(session_id) > 100:
        return None
    row = db.scalar(
        select(LoginSession)
        .options(joinedload(LoginSession.user))
        .where(LoginSession.id_hash == _hash(session_id))
    )
    if row is None:
        return None
    now = now or utcnow()
    idle_for = (now - row.last_seen_at).total_seconds()
    if now >= row.expires_at or idle_for > idle or not row.user.active:
        db.delete(row)
        return None
    # Coarse, so that a busy browser does not write on every request; fine enough for the
    # idle bound however small it is set.
    if idle_for > min(60.0, idle / 10):
        if touches is not None:
            touches.session(row.id, now)
        else:
            row.last_seen_at = now
    return row.user


def end_session(db: Session, session_id: str) -> None:
    db.execute(delete(LoginSession).where(LoginSession.id_hash == _hash(session_id)))


def end_sessions_of(db: Session, user_id: int) -> None:
    """Log `user_id` out everywhere."""
    db.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
