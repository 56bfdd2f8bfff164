"""Actions on lines run by another server: dial, answer and hang up, passed on through Redis.

A browser talks to whichever server the reverse proxy chose; the phone system of its line is
run by one server only (see `leases`). A server that does not run the line asks every server
on one Redis channel; the one that runs it acts and answers on the asking server's own
channel. Nothing is queued: an action that nobody answers within `ANSWER_SECONDS` fails, and
the user is told, as when a phone system is away.

The same way carries what a phone system sends to a server that does not run it: a provider's
push (a request, answered with a result) and an agent's connection (a tunnel: messages both
ways, in order, until either end closes it). See `Lines.ask_system` and `Lines.tunnel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

REQUESTS = "offhook:line-actions"
ANSWERS = "offhook:line-answers:"
ANSWER_SECONDS = 5.0
RETRY_SECONDS = 1.0

#: Runs an action here: (line id, action, its arguments) → an error message for the user ("":
#: done), a result to send back, or None if the line is not run by this server. Raises nothing.
Performer = Callable[[int, str, dict[str, Any]], Awaitable[str | dict[str, Any] | None]]
#: Opens the far end of a tunnel here: (phone system id, kind, opening message, the far end) →
#: False if the phone system is not run by this server. The far end is served by a task of
#: the callee's own. Raises nothing.
TunnelOpener = Callable[[int, str, dict[str, Any], "FarEnd"], Awaitable[bool]]
#: Whether this server runs the phone system (a tunnel it does not know is then closed).
Owns = Callable[[int], bool]


class RelayError(Exception):
    """The action did not reach the line's server, or failed there; the message says why."""


#: What ends a tunnel from the far side: None (closed), or the close code and reason.
Closed = tuple[int, str] | None


class Tunnel:
    """The near end of a tunnel: this server holds the connection, another runs the phone
    system. `receive` gives the far end's messages in order; `None` when it closed the
    tunnel (`close_code`, `close_reason` say how)."""

    def __init__(self, relay: ActionRelay, tunnel_id: str, system_id: int, kind: str) -> None:
        self._relay = relay
        self.id = tunnel_id
        self.system_id = system_id
        self.kind = kind
        self.incoming: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.close_code = 1012
        self.close_reason = "the server that runs the phone system went away"
        self.closed = False
        #: When the far end was last heard (loop time): a dead far end says nothing.
        self.last_heard = asyncio.get_running_loop().time()

    async def send(self, data: dict[str, Any]) -> None:
        """Pass a message on to the far end; `RelayError` if Redis cannot take it."""
        await self._relay._to_far(self, {"data": data})

    async def receive(self) -> dict[str, Any] | None:
        return await self.incoming.get()

    def _ended(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.close_code, self.close_reason = code, reason
            self.incoming.put_nowait(None)

    async def close(self) -> None:
        """The connection here ended: the far end lets go of it."""
        self._relay._tunnels.pop(self.id, None)
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                await self._relay._to_far(self, {"bye": True})


class FarEnd:
    """The far end of a tunnel, on the server that runs the phone system: what the near end
    sent, in order (`receive`; None once it let go), and the way back."""

    def __init__(self, relay: ActionRelay, tunnel_id: str, reply_to: str, system_id: int) -> None:
        self._relay = relay
        self.id = tunnel_id
        self.system_id = system_id
        self._reply_to = reply_to
        self.incoming: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.closed = False

    async def receive(self) -> dict[str, Any] | None:
        return await self.incoming.get()

    async def send(self, data: dict[str, Any]) -> None:
        if self.closed:
            raise ConnectionError("the tunnel is closed")
        await self._relay._to_near(self._reply_to, {"tunnel": self.id, "data": data})

    async def close(self, code: int, reason: str) -> None:
        """End the tunnel: the near end closes its connection with `code` and `reason`."""
        self._relay._far.pop(self.id, None)
        if self.closed:
            return
        self.closed = True
        self.incoming.put_nowait(None)
        with contextlib.suppress(Exception):
            await self._relay._to_near(self._reply_to, {"tunnel": self.id, "close": [code, reason]})


class ActionRelay:
    def __init__(self, perform: Performer) -> None:
        self.server_id = uuid.uuid4().hex
        self._perform = perform
        self._redis: Any = None
        self._waiting: dict[str, asyncio.Future[tuple[str, dict[str, Any]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        #: Tunnels whose connection is here (near ends) and whose phone system runs here (far).
        self._tunnels: dict[str, Tunnel] = {}
        self._far: dict[str, FarEnd] = {}
        self.open_far: TunnelOpener | None = None
        self.owns: Owns = lambda system_id: False

    @property
    def connected(self) -> bool:
        return self._redis is not None

    async def connect(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self._task = asyncio.create_task(self._listen(), name="line-action-relay")

    async def ask(
        self,
        line_id: int,
        action: str,
        arguments: dict[str, Any],
        timeout: float = ANSWER_SECONDS,
    ) -> dict[str, Any]:
        """Have the server that runs the line do `action`; its result ({} for none). Raises
        `RelayError`."""
        if self._redis is None:
            raise RelayError("this line is run by another server, which cannot be reached")
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[tuple[str, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[request_id] = answer
        request = {
            "id": request_id,
            "reply_to": self.server_id,
            "line_id": line_id,
            "action": action,
            "arguments": arguments,
        }
        try:
            try:
                heard = await self._redis.publish(REQUESTS, json.dumps(request))
            except Exception as exc:
                raise RelayError("the server that runs this line cannot be reached") from exc
            if not heard:
                raise RelayError("no server runs this line right now")
            try:
                async with asyncio.timeout(timeout):
                    error, result = await answer
            except TimeoutError:
                raise RelayError("the server that runs this line did not answer") from None
            if error:
                raise RelayError(error)
            return result
        finally:
            self._waiting.pop(request_id, None)

    # --- tunnels ---------------------------------------------------------------------------------

    async def open_tunnel(self, system_id: int, kind: str, opening: dict[str, Any]) -> Tunnel:
        """A tunnel to the server that runs the phone system; `RelayError` if Redis is away.
        Whether that server takes it shows in the first message back (or a close)."""
        if self._redis is None:
            raise RelayError("the phone system is run by another server, which cannot be reached")
        tunnel = Tunnel(self, uuid.uuid4().hex, system_id, kind)
        self._tunnels[tunnel.id] = tunnel
        try:
            await self._to_far(tunnel, {"open": opening})
        except RelayError:
            self._tunnels.pop(tunnel.id, None)
            raise
        return tunnel

    async def _to_far(self, tunnel: Tunnel, body: dict[str, Any]) -> None:
        message = {
            "tunnel": tunnel.id,
            "reply_to": self.server_id,
            "system_id": tunnel.system_id,
            "kind": tunnel.kind,
            **body,
        }
        try:
            await self._redis.publish(REQUESTS, json.dumps(message))
        except Exception as exc:
            raise RelayError("the server that runs the phone system cannot be reached") from exc

    async def _to_near(self, server_id: str, message: dict[str, Any]) -> None:
        await self._redis.publish(ANSWERS + server_id, json.dumps(message))

    def _tunnel_heard(self, message: dict[str, Any], near: bool) -> None:
        tunnel_id = str(message["tunnel"])
        if near:  # from the far end, to a connection here
            tunnel = self._tunnels.get(tunnel_id)
            if tunnel is None:
                return
            tunnel.last_heard = asyncio.get_running_loop().time()
            if "close" in message:
                code, reason = message["close"]
                self._tunnels.pop(tunnel_id, None)
                tunnel._ended(int(code), str(reason))
            elif "data" in message:
                tunnel.incoming.put_nowait(message["data"])
            return
        system_id = int(message["system_id"])
        far = self._far.get(tunnel_id)
        if "open" in message:
            if far is None and self.open_far is not None and self.owns(system_id):
                # Registered now, before the next message of the tunnel is heard.
                far = FarEnd(self, tunnel_id, str(message["reply_to"]), system_id)
                self._far[tunnel_id] = far
                self._spawn(self._open(far, str(message["kind"]), message["open"]))
            return
        if far is not None:
            far.incoming.put_nowait(None if message.get("bye") else message.get("data"))
            if message.get("bye"):
                self._far.pop(tunnel_id, None)
                far.closed = True
        elif self.owns(system_id) and not message.get("bye"):
            # A tunnel its phone system's previous server held (it died, this one took over):
            # the connection starts afresh, here.
            moved = [1012, "the phone system moved to another server"]
            reply = {"tunnel": tunnel_id, "close": moved}
            self._spawn(self._to_near(str(message["reply_to"]), reply))

    async def _open(self, far: FarEnd, kind: str, opening: dict[str, Any]) -> None:
        assert self.open_far is not None
        try:
            taken = await self.open_far(far.system_id, kind, opening, far)
        except Exception:
            log.exception("could not take a tunnel from another server")
            taken = False
        if not taken:
            await far.close(1012, "the phone system is not run here any more")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(REQUESTS, ANSWERS + self.server_id)
                    while True:
                        raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                        if raw is not None and raw.get("type") == "message":
                            self._heard(raw["channel"], raw["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("line action relay: Redis subscription failed, retrying: %s", exc)
                await asyncio.sleep(RETRY_SECONDS)

    def _heard(self, channel: bytes | str, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            log.warning("ignored a malformed line action from Redis: %s", exc)
            return
        name = channel.decode() if isinstance(channel, bytes) else channel
        if "tunnel" in message:
            # In the order heard: a tunnel's messages are handled here, not in a task each.
            try:
                self._tunnel_heard(message, near=name != REQUESTS)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("ignored a malformed tunnel message from Redis: %s", exc)
            return
        if name == REQUESTS:
            self._spawn(self._serve(message))
            return
        answer = self._waiting.get(str(message.get("id")))
        if answer is not None and not answer.done():
            result = message.get("result")
            error = str(message.get("error") or "")
            answer.set_result((error, result if isinstance(result, dict) else {}))

    async def _serve(self, request: dict[str, Any]) -> None:
        try:
            line_id = int(request["line_id"])
            arguments = request.get("arguments") or {}
            done = await self._perform(line_id, str(request["action"]), dict(arguments))
            if done is None:
                return  # not ours: the server that runs the line answers
            reply: dict[str, Any] = {"id": str(request["id"])}
            if isinstance(done, dict):
                reply["result"] = done
            else:
                reply["error"] = done
            await self._redis.publish(ANSWERS + str(request["reply_to"]), json.dumps(reply))
        except Exception as exc:
            log.warning("could not serve a line action from another server: %s", exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._running):
            task.cancel()
        for tunnel in list(self._tunnels.values()):
            tunnel._ended(1012, "the server is stopping")
        self._tunnels.clear()
        for far in list(self._far.values()):
            far.closed = True
            far.incoming.put_nowait(None)
        self._far.clear()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
