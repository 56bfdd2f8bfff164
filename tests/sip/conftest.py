"""Fixtures for the sip tests: real peers (`peers`), lines driven through the test kit any
driver author gets (`offhook.drivers.testing.RecordingContext`: every event, status and
reconciliation the driver reports, and a view of each call as the core would hold it), and a
whole offhook server with sip lines (`open_site`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from journal_site import JournalClient
from peers import (
    HAVE_BARESIP_AND_SIPP,
    LOOPBACK,
    SAFETY_SECONDS,
    BaresipPeer,
    Peers,
    free_sip_port,
)

from offhook.app import Offhook
from offhook.drivers.sip import SipDriver
from offhook.drivers.testing import RecordingContext
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
