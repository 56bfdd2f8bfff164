"""Fixtures for the sip tests: real peers (`peers`), a recording line context, lines, and a
whole offhook server with sip lines (`open_site`).

`RecordingContext` is a real `PhoneSystemContext` of one line: it keeps every event, status
and reconciliation the driver reports and, like the core, a view of each call's latest state
(calls only move forward; reconciliation ends the calls it is not told about). Tests wait on
that view with generous timeouts and never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from journal_site import JournalClient
from peers import (
    HAVE_BARESIP_AND_SIPP,
    LOOPBACK,
    SAFETY_SECONDS,
    TIMEOUT,
    BaresipPeer,
    Peers,
    free_sip_port,
)

from offhook.app import Offhook
from offhook.calls.events import CallEvent, CallState, Direction
from offhook.drivers.contract import LineInfo, LineState
from offhook.drivers.sip import SipDriver
from offhook.lines.admin import add_line_with_system, install_driver
from offhook.settings.config import Config
from offhook.settings.users import add_user, create_token
from offhook.store import Store
from tests.factories import PASSWORD
from tests.livesite import live_server

needs_peers = pytest.mark.skipif(
    not HAVE_BARESIP_AND_SIPP, reason="needs baresip and sipp (apt install baresip-core sip-tester)"
)


@dataclass
class CallView:
    """A call as the core would hold it after the events so far."""

    call_ref: str
    direction: Direction
    state: CallState
    remote_number: str
    remote_name: str
    dial_ref: str | None
    last: CallEvent
    ended_by_reconcile: bool = False


@dataclass
class RecordingContext:
    line_id: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)
    system_id: int = 1
    events: list[CallEvent] = field(default_factory=list)
    statuses: list[tuple[LineState, str]] = field(default_factory=list)
    reconciliations: list[set[str]] = field(default_factory=list)
    #: The `at` of each reconciliation: when the calls not named ended.
    reconciled_at: list[datetime | None] = field(default_factory=list)
    calls: dict[str, CallView] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    # -- PhoneSystemContext--------------------------------------------------------------------

    def emit(self, event: CallEvent) -> None:
        assert event.line_id == self.line_id
        self.events.append(event)
        view = self.calls.get(event.call_ref)
        if view is None:
            self.calls[event.call_ref] = CallView(
                event.call_ref,
                event.direction,
                event.state,
                event.remote_number,
                event.remote_name,
                event.dial_ref,
                event,
            )
        else:
            if event.state.rank > view.state.rank:
                view.state, view.last = event.state, event
            view.dial_ref = view.dial_ref or event.dial_ref
        self._changed.set()

    @property
    def lines(self) -> Mapping[int, LineInfo]:
        return {self.line_id: LineInfo(self.line_id, "sip:alice@127.0.0.1", 1)}

    def line_for(self, address: str) -> LineInfo | None:
        return self.lines[self.line_id] if address == "sip:alice@127.0.0.1" else None

    def set_status(self, state: LineState, reason: str = "", line_id: int | None = None) -> None:
        self.statuses.append((state, reason))
        self._changed.set()

    def reconcile(
        self,
        live_call_refs: Collection[str],
        at: datetime | None = None,
        reason: str = "",
        line_id: int | None = None,
    ) -> None:
        live = set(live_call_refs)
        self.reconciliations.append(live)
        self.reconciled_at.append(at)
        for view in self.calls.values():
            if view.state is not CallState.ENDED and view.call_ref not in live:
                view.state = CallState.ENDED
                view.ended_by_reconcile = True
        self._changed.set()

    # -- for tests --------------------------------------------------------------------------

    @property
    def state(self) -> LineState | None:
        return self.statuses[-1][0] if self.statuses else None

    async def wait_for(
        self, condition: Callable[[], Any], what: str, timeout: float = TIMEOUT
    ) -> Any:
        """Wait until `condition()` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"gave up waiting for {what}; events: {self.events}; statuses: {self.statuses}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
        return result

    async def call(
        self,
        state: CallState,
        *,
        direction: Direction | None = None,
        number: str | None = None,
        dial_ref: str | None = None,
        timeout: float = TIMEOUT,
    ) -> CallView:
        """Wait for a call that is or was in `state` (number: part of its remote number).

        "Was": a short call may ring and end before the test looks; it still rang.
        """

        def find() -> CallView | None:
            been = {event.call_ref for event in self.events if event.state is state}
            for view in self.calls.values():
                if (
                    (view.state is state or view.call_ref in been)
                    and (direction is None or view.direction is direction)
                    and (number is None or number in view.remote_number)
                    and (dial_ref is None or view.dial_ref == dial_ref)
                ):
                    return view
            return None

        wanted = f"a {state.value} call" + (f" with {number}" if number else "")
        result: CallView = await self.wait_for(find, wanted, timeout)
        return result

    async def connected(self, timeout: float = TIMEOUT) -> None:
        await self.wait_for(
            lambda: self.state is LineState.CONNECTED, "the line connected", timeout
        )

    def open_calls(self) -> list[CallView]:
        return [view for view in self.calls.values() if view.state is not CallState.ENDED]


@dataclass
class Line:
    driver: SipDriver
    context: RecordingContext
    baresip: BaresipPeer | None = None


def managed_options(tmp_path: Path, account: str, **more: Any) -> dict[str, Any]:
    """Options for a line whose baresip offhook runs on loopback, without sound hardware."""
    return {
        "account": account,
        "sip_listen": f"{LOOPBACK}:{free_sip_port()}",
        "net_interface": LOOPBACK,
        "dns_server": f"{LOOPBACK}:53",
        "audio_player": "aubridge,nil",
        "audio_source": "aubridge,nil",
        "runtime_dir": str(tmp_path / "line"),
        **more,
    }


@pytest.fixture
def peers(tmp_path: Any) -> Iterator[Peers]:
    group = Peers(tmp_path / "peers")
    try:
        yield group
    finally:
        group.close()


class TestSipDriver(SipDriver):
    """The driver as shipped; a baresip it runs quits by itself should a test run crash."""

    __test__ = False
    baresip_quit_after = 120


@pytest.fixture
async def attached_line(peers: Peers) -> AsyncIterator[Line]:
    """A line attached to a fresh baresip (alice, direct IP calls) on free ports."""
    baresip = peers.baresip("alice")
    context = RecordingContext(options={"ctrl_port": baresip.ctrl_port})
    driver = TestSipDriver(context)
    await driver.start()
    try:
        await context.connected()
        yield Line(driver, context, baresip)
    finally:
        await driver.stop()


@pytest.fixture
async def make_line(peers: Peers) -> AsyncIterator[Callable[[dict[str, Any]], Awaitable[Line]]]:
    """Start lines with given options: `line = await make_line({...})`; all stopped at the end."""
    drivers: list[SipDriver] = []

    async def start(options: dict[str, Any]) -> Line:
        context = RecordingContext(options=options)
        driver = TestSipDriver(context)
        drivers.append(driver)
        await driver.start()
        return Line(driver, context)

    try:
        yield start
    finally:
        for driver in drivers:
            await driver.stop()


@dataclass
class Site:
    """A running offhook server: one user ("anna") with sip lines, watched by `client`."""

    store: Store
    offhook: Offhook
    client: JournalClient
    user_id: int
    line_ids: list[int]


@pytest.fixture
def open_site(
    tmp_path: Path, peers: Peers, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Site]]:
    """`site = open_site(store, (address, options), ...)`: a live server with those sip lines.

    As an admin would: the sip extension is installed with auto load and the lines are added
    before the server starts, so they start with it. Everything stops at the end of the test,
    the server before the peers (`peers` is set up first, so it is torn down last).
    """
    # A baresip that offhook runs for a managed line quits by itself should the test crash.
    monkeypatch.setattr(SipDriver, "baresip_quit_after", SAFETY_SECONDS)
    with ExitStack() as stack:

        def open_(store: Store, *lines: tuple[str, dict[str, Any]]) -> Site:
            with store.session() as session:
                install_driver(session, "sip", auto_load=True)
                user = add_user(session, "anna", "Anna Keller", PASSWORD, "user")
                line_ids = [
                    add_line_with_system(session, user, "sip", address, "", options).id
                    for address, options in lines
                ]
                token = create_token(session, user, "sip journal tests")
                user_id = user.id
            offhook = Offhook(Config(data_dir=tmp_path / "offhook"), store)
            client = JournalClient(token)
            stack.callback(client.close)  # after the server stopped, which ends the stream
            base = stack.enter_context(live_server(offhook))
            client.connect(base)
            return Site(store, offhook, client, user_id, line_ids)

        yield open_
