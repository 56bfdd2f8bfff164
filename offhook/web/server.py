"""Serving the web app with uvicorn."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from types import FrameType

import uvicorn

from offhook.app import Offhook
from offhook.journal.warmup import warm_up
from offhook.web.app import create_app
from offhook.web.connections import bounded_h11
from offhook.web.limits import MAX_WEBSOCKET_MESSAGE

_HOOK_TOKEN = re.compile(r"(/hooks/)[^/?#\s]+")


class HookTokens(logging.Filter):
    """Keep webhook addresses' secret tokens (`…/hooks/<token>`) out of the access log: the
    address is a phone system's key."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _HOOK_TOKEN.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


class OffhookServer(uvicorn.Server):
    """uvicorn, plus: live journal streams end at once when the server is asked to stop.

    Otherwise every open browser tab would hold the shutdown until its grace period ran out.
    """

    def __init__(self, config: uvicorn.Config, offhook: Offhook) -> None:
        super().__init__(config)
        self.offhook = offhook
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)  # type: ignore[arg-type]
        await asyncio.to_thread(warm_up, self.offhook.store)
        # What start-up loaded (number metadata, ORM, templates: ~140,000 objects) lives as long
        # as the server; frozen, full collections stop walking it (each paused us 75-93 ms).
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        """Ask the server to stop (from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.offhook.hub.goodbye)
        self.should_exit = True

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.offhook.hub.goodbye)
        super().handle_exit(sig, frame)


def server_for(offhook: Offhook, host: str, port: int, log_level: str = "info") -> OffhookServer:
    config = uvicorn.Config(
        create_app(offhook),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=3,
        proxy_headers=True,
        # A request's line and headers together: 16 KiB (h11's default, said here so that it
        # stays a decision); more closes the connection.
        h11_max_incomplete_event_size=16 * 1024,
        limit_concurrency=offhook.config.max_connections,
        # Deadlines for a request's head and body, and a bound per client address, so that
        # connections that send nothing cannot use up the limit above (connections.py).
        http=bounded_h11(),
        ws_max_size=MAX_WEBSOCKET_MESSAGE,
    )
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HookTokens) for f in access.filters):
        access.addFilter(HookTokens())
    return OffhookServer(config, offhook)
