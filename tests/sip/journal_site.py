"""A real offhook server with sip lines, seen the way a browser sees it.

`open_site` (a fixture in `conftest.py`) sets up a user with sip lines in a real store, starts
offhook on a free port with uvicorn (`tests.livesite.live_server`), and connects a
`JournalClient`: an API token, the JSON API and the live stream (`GET /api/journal/stream`,
server-sent events) read by a thread. Tests act through the API (answer, hang up, dial) and wait
on what the stream pushed: nothing here looks into the driver.

The latency bench uses the same client, with the arrival time of every pushed event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

#: Generous: on loopback these things take milliseconds.
TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Pushed:
    """One server-sent event as it arrived: its type, its data, and when (time.time())."""

    kind: str
    data: dict[str, Any]
    at: float


@dataclass
class JournalClient:
    """A user's view of offhook over HTTP: the API with an API token, and the live stream."""

    token: str
    base: str = ""
    pushed: list[Pushed] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _http: httpx.Client | None = None
    _error: BaseException | None = None

    # -- life cycle -------------------------------------------------------------------------

    def connect(self, base: str) -> None:
        """Open the live stream and wait for its first message, the snapshot."""
        self.base = base
        self._http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {self.token}"}, timeout=TIMEOUT
        )
        self._thread = threading.Thread(target=self._listen, name="journal-stream", daemon=True)
        self._thread.start()
        self.wait(lambda: self.snapshot(), "the journal stream's snapshot")

    def close(self) -> None:
        """Call after the server stopped (which ends the stream)."""
        if self._thread is not None:
            self._thread.join(10)
        if self._http is not None:
            self._http.close()

    def _listen(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        timeout = httpx.Timeout(TIMEOUT, read=None)
        try:
            with (
                httpx.Client(base_url=self.base, headers=headers, timeout=timeout) as client,
                client.stream("GET", "/api/journal/stream") as response,
            ):
                response.raise_for_status()
                kind = ""
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        pushed = Pushed(kind, json.loads(line.removeprefix("data: ")), time.time())
                        with self._changed:
                            self.pushed.append(pushed)
                            self._changed.notify_all()
        except httpx.HTTPError as exc:
            # The server going away at the end of a test ends the stream; anything before
            # that is worth seeing in a failing wait.
            self._error = exc
        finally:
            with self._changed:
                self._changed.notify_all()

    # -- what the stream showed -------------------------------------------------------------

    def wait(self, condition: Callable[[], T | None], what: str, timeout: float = TIMEOUT) -> T:
        """Wait until `condition()` is truthy (checked on every push); return its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := condition()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"gave up waiting for {what} after {timeout:g} s; {self.summary()}"
                    )
                self._changed.wait(min(remaining, 0.2))
            return result

    def summary(self) -> str:
        """What the stream showed, in short, for a failing test's message."""
        entries = [
            f"{e['id']}:{e['direction']}:{e['number']['raw']}:{e['state']}:{e['end_reason']}"
            for e in self.entries().values()
        ]
        lines = [
            f"{p.data['line']['state']} ({p.data['line']['reason']}) at {p.at:.3f}"
            for p in self.pushed
            if p.kind == "line"
        ]
        return (
            f"stream error: {self._error!r}; entries: {entries}; line events: {lines}; "
            f"now {time.time():.3f}"
        )

    def snapshot(self) -> dict[str, Any] | None:
        return next((p.data for p in self.pushed if p.kind == "snapshot"), None)

    def versions(self, call_id: int) -> list[dict[str, Any]]:
        """Every state of one journal entry the stream pushed, in order."""
        found = [e for e in self._snapshot_entries() if e["id"] == call_id]
        found += [
            p.data["entry"]
            for p in list(self.pushed)
            if p.kind == "call" and p.data["entry"]["id"] == call_id
        ]
        return found

    def entries(self) -> dict[int, dict[str, Any]]:
        """The newest pushed state of every entry, by call id."""
        latest = {e["id"]: e for e in self._snapshot_entries()}
        for pushed in list(self.pushed):
            if pushed.kind == "call":
                latest[pushed.data["entry"]["id"]] = pushed.data["entry"]
        return latest

    def _snapshot_entries(self) -> list[dict[str, Any]]:
        snapshot = self.snapshot()
        return list(snapshot["entries"]) if snapshot else []

    def entry(
        self,
        *,
        state: str | None = None,
        number: str | None = None,
        direction: str | None = None,
        call_id: int | None = None,
        besides: Collection[int] = (),
        what: str = "",
        timeout: float = TIMEOUT,
    ) -> dict[str, Any]:
        """Wait for an entry in `state` (number: part of its raw remote number; besides: ids
        of entries it is not); return it."""

        def find() -> dict[str, Any] | None:
            for entry in self.entries().values():
                if (
                    entry["id"] not in besides
                    and (state is None or entry["state"] == state)
                    and (number is None or number in entry["number"]["raw"])
                    and (direction is None or entry["direction"] == direction)
                    and (call_id is None or entry["id"] == call_id)
                ):
                    return entry
            return None

        wanted = what or f"a {state or ''} entry" + (f" for {number}" if number else "")
        return self.wait(find, wanted, timeout)

    def line_states(self, line_id: int) -> list[dict[str, Any]]:
        """The line's state as the snapshot had it, then every `line` event, in order."""
        snapshot = self.snapshot() or {"lines": []}
        states = [line for line in snapshot["lines"] if line["id"] == line_id]
        states += [
            p.data["line"]
            for p in list(self.pushed)
            if p.kind == "line" and p.data["line"]["id"] == line_id
        ]
        return states

    def line_state(
        self, line_id: int, state: str, contains: str = "", timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """Wait until the line's latest pushed state is `state` (with `contains` in the reason)."""

        def latest() -> dict[str, Any] | None:
            states = self.line_states(line_id)
            if states and states[-1]["state"] == state and contains in states[-1]["reason"]:
                return states[-1]
            return None

        return self.wait(latest, f"line {line_id} {state} {contains!r}".strip(), timeout)

    # -- the API ----------------------------------------------------------------------------

    @property
    def http(self) -> httpx.Client:
        assert self._http is not None, "not connected"
        return self._http

    def journal(self) -> dict[str, Any]:
        response = self.http.get("/api/journal")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def act(self, call_id: int, action: str) -> httpx.Response:
        """POST /api/calls/{id}/{action} (answer, hangup, end)."""
        return self.http.post(f"/api/calls/{call_id}/{action}")

    def answer(self, call_id: int) -> None:
        response = self.act(call_id, "answer")
        assert response.status_code == 200, response.text

    def hangup(self, call_id: int) -> None:
        response = self.act(call_id, "hangup")
        assert response.status_code == 200, response.text

    def dial(self, number: str, line_id: int | None = None) -> int:
        response = self.http.post("/api/dial", json={"number": number, "line_id": line_id})
        assert response.status_code == 200, response.text
        call_id: int = response.json()["call_id"]
        return call_id
