"""The real agent (its uplink and the TAPI mapping) against a real server, on Linux: only the
TAPI side is a script (`ScriptedPhone`), fed with the messages a TSP would send.

The agent runs on an event loop of its own in a thread, as it does on Windows next to the
TAPI thread; tests talk to it through thread-safe calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from offhook_agent.mapping import CallInfo, CallUpdate, LineCalls, TapiMessage
from offhook_agent.protocol import CommandRefused
from offhook_agent.uplink import Uplink

T = TypeVar("T")


class ScriptedPhone:
    """TAPI lines whose messages the test sends; dial/answer/hang up are recorded."""

    def __init__(self, keys: list[str]) -> None:
        self.calls = {key: LineCalls() for key in keys}
        self.commands: list[tuple[str, str, str]] = []
        self.refuse_next = ""
        self.uplink: Uplink | None = None
        self._next_hcall = 1000

    def lines(self) -> list[dict[str, Any]]:
        caps = {"dial": True, "answer": True, "hangup": True}
        return [{"key": key, "name": key, "caps": caps} for key in self.calls]

    def live_calls(self, key: str) -> list[CallUpdate] | None:
        return self.calls[key].live()

    def feed(self, key: str, message: TapiMessage, info: CallInfo | None) -> None:
        assert self.uplink is not None
        for update in self.calls[key].feed(message, info):
            self.uplink.report_call(key, update)

    def _refuse(self) -> None:
        if self.refuse_next:
            reason, self.refuse_next = self.refuse_next, ""
            raise CommandRefused(reason)

    async def dial(self, key: str, dial_ref: str, dial_string: str) -> None:
        self.commands.append(("dial", key, dial_string))
        self._refuse()
        assert self.uplink is not None
        self._next_hcall += 1
        for update in self.calls[key].dialled(self._next_hcall, dial_ref):
            self.uplink.report_call(key, update)

    async def answer(self, key: str, call_ref: str) -> None:
        self.commands.append(("answer", key, call_ref))
        self._refuse()

    async def hangup(self, key: str, call_ref: str) -> None:
        self.commands.append(("hangup", key, call_ref))
        self._refuse()


class AgentThread:
    """An agent with its own event loop in a thread."""

    def __init__(self, base: str, token: str, phone: ScriptedPhone) -> None:
        self.phone = phone
        self.loop = asyncio.new_event_loop()
        self.uplink = Uplink(base, token, phone, "Linux (test)")
        phone.uplink = self.uplink
        self.outcome: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, name="offhook-agent", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._task = self.loop.create_task(self.uplink.run())
        try:
            self.loop.run_until_complete(self._task)
            self.outcome.set_result(None)
        except asyncio.CancelledError:
            self.outcome.set_result(None)
        except BaseException as exc:
            self.outcome.set_exception(exc)

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the agent's loop and return its result."""

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def feed(self, key: str, message: TapiMessage, info: CallInfo | None = None) -> None:
        self.call(lambda: self.phone.feed(key, message, info))

    def wait_connected(self, timeout: float = 15.0) -> None:
        async def wait() -> None:
            await asyncio.wait_for(self.uplink.connected.wait(), timeout)

        asyncio.run_coroutine_threadsafe(wait(), self.loop).result(timeout + 1)

    def stop(self) -> None:
        if not self.loop.is_closed() and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)
