"""Run the path from a call event to its journal entry once at start-up, and undo it.

The first call after a start would otherwise pay for what SQLAlchemy compiles on first use
(the recorder's and the journal's statements, the inserts and updates of a call): tens of
milliseconds on a quiet machine, several times that on a busy one, on the first calls of a
phone system that reconnects to a call centre's traffic. Done before the server freezes its
start-up objects out of the garbage collector, so what it leaves behind is frozen too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from offhook.calls.events import CallEvent, CallState, Direction, EndReason
from offhook.calls.recorder import record_many
from offhook.journal.entries import many
from offhook.store import Store
from offhook.store.models import Line

log = logging.getLogger(__name__)


class _Undo(Exception):
    """Rolls the warm-up's transaction back: nothing of it is ever stored."""


def warm_up(store: Store) -> None:
    """Record a made-up call (ringing, then missed) on the first line and read its entries,
    in one transaction that is rolled back. Nothing to do without lines."""
    try:
        with store.session() as session:
            line_id = session.scalar(select(Line.id).order_by(Line.id).limit(1))
            if line_id is None:
                return
            at = datetime.now(UTC)
            for state, reason in ((CallState.RINGING, None), (CallState.ENDED, EndReason.MISSED)):
                event = CallEvent(
                    line_id=line_id,
                    call_ref="offhook-warm-up",
                    direction=Direction.INCOMING,
                    state=state,
                    at=at,
                    remote_number="+41446681800",
                    end_reason=reason,
                )
                changes = record_many(session, [event])
                session.flush()
                many(session, [change.call_id for change in changes])
            raise _Undo
    except _Undo:
        pass
    except Exception:  # a warm-up must never stop the server from starting
        log.exception("the recording path could not be warmed up")
