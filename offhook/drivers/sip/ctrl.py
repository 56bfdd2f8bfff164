"""An asyncio client for baresip's ctrl_tcp control port (baresip 1.0.0).

Every message is a netstring holding one JSON object:

- command (us → baresip): `{"command": "dial", "params": "sip:…", "token": "oh7"}`
- response (baresip → us): `{"response": true, "ok": true, "data": "…", "token": "oh7"}`
- event (baresip → us): `{"event": true, "class": "call", "type": "CALL_INCOMING", "id": …}`

What baresip 1.0.0 does that shapes this client:

- ctrl_tcp serves one client: a second connection silently closes the first, so losing the
  connection is normal and the caller reconnects.
- Events are not buffered: whatever happens while nobody is connected is never told.
- A command's text (name, space, params) is cut at 255 bytes by baresip; longer commands are
  refused here instead of being run truncated.
- Several commands written in one TCP segment are run one after the other within one turn of
  baresip's main loop, so no SIP message is handled between them. `batch` relies on this to
  address one call in two steps (`callfind <id>` then `hangup`).
- A response says `ok: true` whenever the command exists, even if it did nothing (`callfind`
  of an unknown call, `accept` with nothing to answer): its `data` text tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from offhook.drivers.sip.netstring import DEFAULT_MAX_SIZE, FrameRefused, NetstringDecoder, encode

log = logging.getLogger(__name__)

#: Why a connection ended when baresip closed it (it quit, or served another client).
CLOSED_BY_BARESIP = "baresip closed the control connection"
#: baresip copies "<command> <params>" into a 256-byte buffer (ctrl_tcp.c).
MAX_COMMAND_TEXT = 255

Event = Mapping[str, Any]
EventHandler = Callable[[Event], None]


class ControlError(Exception):
    """Talking to baresip's control port failed; the message is written for the user."""


class ConnectionLost(ControlError):
    """The control connection is gone (baresip stopped, or another client took the port)."""


class NotListening(ControlError):
    """The control port refused the connection: no baresip (with ctrl_tcp) runs there.

    Unlike a timeout or an unreachable network, this is a definite answer from the host: a
    baresip that is not running has no calls, so the line's calls are over.
    """


@dataclass(frozen=True, slots=True)
class Response:
    ok: bool
    data: str


#: baresip's messages are objects holding strings, numbers and booleans (one level); Python's
#: JSON parser recurses per level and fails with `RecursionError` around a thousand, so depth
#: is measured before parsing and anything deeper than this is refused.
MAX_NESTING = 16

# A JSON string, dropped whole before brackets are counted: brackets inside it do not nest. An
# unterminated string runs to the end: were the closing quote required, text full of escaped
# quotes would be rescanned from each of them (quadratic time on a megabyte frame).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?')
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
# An opening bracket counts 2 and a closing one 0, so that after subtracting 1 per bracket the
# running sum is the depth; all of it runs in C, a megabyte of brackets in milliseconds.
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def nesting(payload: bytes) -> int:
    """How deeply the JSON text nests arrays and objects: the deepest a parser reading it from
    the start could recurse (text that closes more than it opened stops a parser anyway)."""
    steps = _STRING.sub(b"", payload).translate(None, _NOT_BRACKETS).translate(_STEPS)
    if not steps:
        return 0
    depths: map[int] = map(operator.sub, itertools.accumulate(steps), itertools.count(1))
    return max(0, max(depths))


def _parse(payload: bytes) -> dict[str, Any] | None:
    """The control message in a frame; None if it is not a JSON object.

    Raises `FrameRefused` for JSON nested deeper than `MAX_NESTING`: no baresip writes that, so
    the peer is not baresip or is broken, and the connection is dropped (then reconnected).
    """
    if (depth := nesting(payload)) > MAX_NESTING:
        raise FrameRefused(
            f"a control message nests {depth} levels deep, more than the {MAX_NESTING} allowed"
        )
    # Display names are the caller's text: invalid UTF-8 must cost a character, not the event.
    try:
        message = json.loads(payload.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def _is_json_object(payload: bytes) -> bool:
    return _parse(payload) is not None


class BaresipControl:
    """One connection to one baresip's ctrl_tcp port.

    Events are handed to `on_event` in the order baresip sent them, from the reader task.
    Create with `connect`; `closed` resolves with the reason once the connection is gone.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: EventHandler,
        *,
        peer: str,
        max_frame: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self.peer = peer
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._decoder = NetstringDecoder(max_size=max_frame, plausible=_is_json_object)
        self._tokens = (f"oh{n}" for n in itertools.count(1))
        self._waiting: dict[str, asyncio.Future[Response]] = {}
        self._closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._read_task = asyncio.create_task(self._read_loop(), name=f"baresip ctrl {peer}")

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        on_event: EventHandler,
        *,
        timeout: float = 5.0,
        max_frame: int = DEFAULT_MAX_SIZE,
    ) -> BaresipControl:
        peer = f"{host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            raise ControlError(f"baresip at {peer} did not accept a connection in time") from None
        except ConnectionRefusedError:
            raise NotListening(
                f"baresip is not running at {peer} (nothing listens on its control port)"
            ) from None
        except OSError as exc:
            raise ControlError(
                f"cannot reach baresip's control port at {peer}: {exc.strerror or exc}"
            ) from None
        return cls(reader, writer, on_event, peer=peer, max_frame=max_frame)

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    async def closed(self) -> str:
        """Wait until the connection is gone; return why, for the user."""
        return await asyncio.shield(self._closed)

    async def command(
        self, command: str, params: str | None = None, *, timeout: float = 5.0
    ) -> Response:
        """Run one command and return baresip's response."""
        (response,) = await self.batch([(command, params)], timeout=timeout)
        return response

    async def batch(
        self, commands: Sequence[tuple[str, str | None]], *, timeout: float = 5.0
    ) -> list[Response]:
        """Run commands back to back (one write, so baresip runs them in one go)."""
        if self.is_closed:
            raise ConnectionLost(f"the control connection to baresip at {self.peer} is closed")
        loop = asyncio.get_running_loop()
        frames = bytearray()
        futures: list[asyncio.Future[Response]] = []
        for name, params in commands:
            text = name if params is None else f"{name} {params}"
            if len(text.encode()) > MAX_COMMAND_TEXT:
                raise ControlError(
                    f"the baresip command '{name}' is too long "
                    f"({len(text.encode())} bytes, baresip takes {MAX_COMMAND_TEXT})"
                )
            token = next(self._tokens)
            message: dict[str, str] = {"command": name, "token": token}
            if params is not None:
                message["params"] = params
            frames += encode(json.dumps(message, ensure_ascii=False).encode())
            future: asyncio.Future[Response] = loop.create_future()
            self._waiting[token] = future
            futures.append(future)
        try:
            self._writer.write(bytes(frames))
            await self._writer.drain()
            async with asyncio.timeout(timeout):
                return [await future for future in futures]
        except TimeoutError:
            names = ", ".join(name for name, _ in commands)
            raise ControlError(f"baresip did not answer '{names}' within {timeout:g} s") from None
        except OSError as exc:
            self._finish(f"writing to baresip failed: {exc.strerror or exc}")
            raise ConnectionLost(
                f"the control connection to baresip at {self.peer} broke"
            ) from None
        finally:
            for future in futures:
                if future.done() and not future.cancelled():
                    future.exception()  # mark as retrieved: one failure is reported, not many
                else:
                    future.cancel()
            for token in [t for t, f in self._waiting.items() if f in futures]:
                del self._waiting[token]

    async def close(self) -> None:
        self._finish("closed by offhook")
        self._read_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._read_task
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        reason = CLOSED_BY_BARESIP
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    if lost := self._decoder.pending:
                        reason += f" in the middle of a message ({lost} bytes lost)"
                    break
                frames = self._decoder.feed(data)
                for problem in self._decoder.problems:
                    log.warning("baresip at %s sent damaged control data: %s", self.peer, problem)
                self._decoder.problems.clear()
                for frame in frames:
                    self._dispatch(frame)
                if self._decoder.broken:
                    reason = f"dropped the control connection: {self._decoder.broken}"
                    log.warning("baresip at %s: %s", self.peer, reason)
                    break
        except OSError as exc:
            reason = f"the control connection to baresip broke: {exc.strerror or exc}"
        except Exception as exc:
            # Never die silently: whoever waits on `closed` learns why and reconnects.
            log.exception("baresip at %s: reading the control connection failed", self.peer)
            reason = f"dropped the control connection: {type(exc).__name__}: {exc}"
        finally:
            self._finish(reason)
            self._writer.close()

    def _dispatch(self, frame: bytes) -> None:
        try:
            message = _parse(frame)
        except FrameRefused:  # the decoder has refused it already
            return
        if message is None:  # the decoder lets only JSON objects through
            return
        if message.get("response") is True:
            future = self._waiting.pop(str(message.get("token")), None)
            if future is not None and not future.done():
                future.set_result(Response(ok=message.get("ok") is True, data=_text(message)))
            return
        if message.get("event") is True:
            try:
                self._on_event(message)
            except Exception:
                # A bug in event handling must not take the line down with it.
                log.exception("handling a baresip event failed: %s", message.get("type"))
            return
        log.debug("ignoring a baresip control message that is neither event nor response")

    def _finish(self, reason: str) -> None:
        if not self._closed.done():
            self._closed.set_result(reason)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(
                    ConnectionLost(f"baresip at {self.peer} went away before answering ({reason})")
                )
        self._waiting.clear()


def _text(message: Mapping[str, Any]) -> str:
    data = message.get("data")
    return data if isinstance(data, str) else ""


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """baresip's text output without terminal colour codes and control characters."""
    text = _ANSI.sub("", text)
    return "".join(c for c in text if c.isprintable() or c in "\n\t")
