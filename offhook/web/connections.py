"""Connections that send no request cost the server nothing for long.

uvicorn serves at most `OFFHOOK_MAX_CONNECTIONS` connections and answers 503 beyond that, and it
counts every open connection, also one that has not sent a byte. It waits for a request's head
without a deadline, and a body's bytes without one too: 2,000 idle sockets, opened without a
login, kept everybody else out (503) for as long as they stayed open.

Here a connection must send its request's line and headers within `HEAD_TIMEOUT` of opening
(or of its previous answer) and, once the body has started, may not pause it for longer than
`BODY_PAUSE`; otherwise it is closed. One client address may hold at most
`MAX_UNFINISHED_PER_ADDRESS` connections whose request has not fully arrived; more are closed
at once. A connection kept open after an answer, waiting for its next request (HTTP keep-alive),
is not counted: an office behind one address (NAT), or a reverse proxy's pool of idle upstream
connections, holds many of those, and uvicorn closes them after its keep-alive timeout anyway.
A reverse proxy forwards whole requests, so none of this slows the clients behind it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0
BODY_PAUSE = 10.0
MAX_UNFINISHED_PER_ADDRESS = 64


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 with the deadlines and the per-address bound above.

    Make a class per server with `bounded_h11()`: the count of unfinished requests is the
    server's own."""

    unfinished: Counter[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._counted = False
        self._waiting_for: object = None  # the h11 state the deadline is for
        self._answered = False  # a request of this connection has been answered

    # What the client owes: the head (their state IDLE) or the rest of a body (SEND_BODY).

    def _address(self) -> str:
        return self.client[0] if self.client else ""

    def _settle(self) -> None:
        """The request has arrived, or the connection is gone or handed on: nothing is owed."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._waiting_for = None
        if self._counted:
            self._counted = False
            address = self._address()
            self.unfinished[address] -= 1
            if self.unfinished[address] <= 0:
                del self.unfinished[address]

    def _close(self) -> None:
        self._settle()
        if not self.transport.is_closing():
            self.transport.close()

    def _watch(self, data_arrived: bool) -> None:
        state = self.conn.their_state
        if self.transport.is_closing() or state not in (h11.IDLE, h11.SEND_BODY):
            self._settle()
            return
        keep_alive = state is h11.IDLE and self._answered
        if not self._counted and not keep_alive:
            self._counted = True
            self.unfinished[self._address()] += 1
            if self.unfinished[self._address()] > MAX_UNFINISHED_PER_ADDRESS:
                self._close()
                return
        if state is h11.IDLE and self._waiting_for is h11.IDLE:
            return  # the head's deadline runs from the start, whatever trickles in
        if state is h11.SEND_BODY and self._waiting_for is h11.SEND_BODY and not data_arrived:
            return
        if self._deadline is not None:
            self._deadline.cancel()
        self._waiting_for = state
        pause = HEAD_TIMEOUT if state is h11.IDLE else BODY_PAUSE
        self._deadline = self.loop.call_later(pause, self._close)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch(data_arrived=False)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(data_arrived=True)

    def on_response_complete(self) -> None:
        self._answered = True
        super().on_response_complete()
        self._watch(data_arrived=False)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._settle()  # the WebSocket protocol takes the connection over
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._settle()
        super().connection_lost(exc)


def bounded_h11() -> type[BoundedH11Protocol]:
    """A protocol class for one server, with its own count of unfinished requests."""
    return type("ServerH11Protocol", (BoundedH11Protocol,), {"unfinished": Counter()})
