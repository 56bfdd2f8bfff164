"""When API tokens and login sessions were last used, written together.

Every request checks its token or session; noting its use (coarsely, at most once a minute
each) was a write transaction inside that check. When thousands of browsers connect at once
(a server started, a reverse proxy moved them) each of those writes waits its turn for the
database's write lock (SQLite) or its own commit (PostgreSQL), and the check stays a read for
no one. So the check only reads, and notes the use here; the notes are written in one
transaction a moment later. A note lost with a killed server costs a minute of precision of a
"last used" shown to the admin, and an idle session living that much longer.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from offhook.store.models import ApiToken, LoginSession


class Touches:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # noted from the web's worker threads
        self._tokens: dict[int, datetime] = {}
        self._sessions: dict[int, datetime] = {}

    def token(self, token_id: int, at: datetime) -> None:
        with self._lock:
            self._tokens[token_id] = at

    def session(self, session_id: int, at: datetime) -> None:
        with self._lock:
            self._sessions[session_id] = at

    @property
    def pending(self) -> bool:
        return bool(self._tokens or self._sessions)

    def write(self, session: Session) -> int:
        """Write the notes taken so far; how many."""
        with self._lock:
            tokens, self._tokens = self._tokens, {}
            sessions, self._sessions = self._sessions, {}
        if tokens:
            session.execute(
                update(ApiToken),
                [{"id": key, "last_used_at": at} for key, at in tokens.items()],
            )
        if sessions:
            session.execute(
                update(LoginSession),
                [{"id": key, "last_seen_at": at} for key, at in sessions.items()],
            )
        return len(tokens) + len(sessions)
