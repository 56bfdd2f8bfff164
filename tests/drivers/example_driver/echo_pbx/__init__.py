"""echo_pbx: a phone system that announces calls as lines of text over TCP (an example driver).

RING <call id> <extension> <caller number>
ANSWER <call id> <extension>
END <call id>
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from offhook.drivers import CallEvent, CallState, Direction, Driver, EndReason, LineState


class EchoPbxDriver(Driver):
    name: ClassVar[str] = "echo_pbx"
    title: ClassVar[str] = "Echo PBX"
    description: ClassVar[str] = "Calls announced as lines of text over TCP."
    line_address_label: ClassVar[str] = "Extension"
    routes: ClassVar[str | None] = "echo_pbx.web:router"
    commands: ClassVar[str | None] = "echo_pbx.cli:app"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        host: str = Field("127.0.0.1", description="Where the PBX listens")
        port: int = Field(5060, ge=1, le=65535)

    _task: asyncio.Task[None] | None = None
    # call id -> the lines it rings on
    _calls: dict[str, set[int]]

    async def start(self) -> None:
        self._calls = {}
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                reader, writer = await asyncio.open_connection(
                    self.context.options["host"], self.context.options["port"]
                )
                self.context.set_status(LineState.CONNECTED)
                self.context.reconcile([])
                delay = 0.1
                while line := await reader.readline():
                    self._on(line.decode("utf-8", "replace").split())
                writer.close()
            except OSError as exc:
                self.context.set_status(LineState.RECONNECTING, str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _on(self, words: list[str]) -> None:
        if len(words) == 4 and words[0] == "RING":
            _, call_id, extension, caller = words
            line = self.context.line_for(extension)
            if line is not None:
                self._calls.setdefault(call_id, set()).add(line.id)
                self._emit(line.id, call_id, CallState.RINGING, caller)
        elif len(words) == 3 and words[0] == "ANSWER":
            line = self.context.line_for(words[2])
            if line is not None:
                self._emit(line.id, words[1], CallState.CONNECTED)
        elif len(words) == 2 and words[0] == "END":
            for line_id in self._calls.pop(words[1], set()):
                self._emit(line_id, words[1], CallState.ENDED, reason=EndReason.MISSED)

    def _emit(
        self,
        line_id: int,
        call_id: str,
        state: CallState,
        caller: str = "",
        reason: EndReason | None = None,
    ) -> None:
        self.context.emit(
            CallEvent(
                line_id=line_id,
                call_ref=call_id,
                direction=Direction.INCOMING,
                state=state,
                remote_number=caller,
                end_reason=reason,
            )
        )
