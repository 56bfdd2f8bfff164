"""Requests that meet a dropped database connection: reads run again, writes say what happened.

When PostgreSQL ends a connection (a restart, a failover, `pg_terminate_backend`), the
statement running on it fails; the pool tests connections before handing them out, so the next
statement gets a live one. A request that only reads (GET, HEAD) is run again from the start,
a few times with a short pause, before its answer starts: pages, the journal and the API read
through an outage as if nothing happened. Any other request is not repeated (its transaction
may have been committed just before the connection went); it is answered 503 with what to do.
"""

from __future__ import annotations

import asyncio
import logging
import math

from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from offhook.settings.language import N_, _
from offhook.web.limits import SAFE_METHODS, answer

log = logging.getLogger(__name__)

#: How often a read is run, and the pauses between: about a second in all.
ATTEMPTS = 4
PAUSES = (0.1, 0.3, 0.6)
LOST = N_(
    "The connection to the database was lost, so it is not certain that your change was saved. "
    "Please check, then try again."
)
UNREACHABLE = N_("The database does not answer. Please try again in a moment.")


def dropped(exc: BaseException) -> bool:
    """Whether `exc` is the database dropping the connection under a statement."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class DatabaseOutages:
    """ASGI middleware: see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reads = scope["method"] in SAFE_METHODS
        attempts = ATTEMPTS if reads else 1
        for attempt in range(attempts):
            started = False

            async def watched(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                # A read's body is empty: each attempt may read it anew.
                await self.app(
                    dict(scope), receive if attempt == 0 else _empty_body(receive), watched
                )
                return
            except Exception as exc:
                if started or not dropped(exc):
                    raise
                if attempt + 1 < attempts:
                    log.warning(
                        "the database dropped a connection during %s %s; running it again",
                        scope["method"],
                        scope["path"],
                    )
                    await asyncio.sleep(PAUSES[min(attempt, len(PAUSES) - 1)])
                    continue
                log.warning(
                    "the database dropped a connection during %s %s: answered 503",
                    scope["method"],
                    scope["path"],
                )
                retry = str(math.ceil(sum(PAUSES)))
                detail = _(UNREACHABLE if reads else LOST)
                await answer(scope, send, 503, detail, extra=[(b"retry-after", retry.encode())])
                return


def _empty_body(receive: Receive) -> Receive:
    given = False

    async def again() -> Message:
        # The body (empty for a read) was taken by the first attempt; after it, what the
        # connection says next (a disconnect) is the client's.
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return again
