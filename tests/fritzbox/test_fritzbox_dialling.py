"""Click to dial through the box's dialling aid, with fritzconnection, against a local TR-064
server that answers the documented SOAP requests behind HTTP digest authentication (no FRITZ!Box
is reachable here; `peers.Tr064Server` follows AVM's TR-064 descriptions)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from offhook.calls.events import CallState
from offhook.drivers import DialRequest, DriverError, NotSupported
from offhook.drivers.fritzbox import FritzboxDriver
from tests.fritzbox.kit import FritzContext
from tests.fritzbox.peers import CallMonitorServer, Tr064Server


@pytest.fixture
def tr064() -> Iterator[Tr064Server]:
    server = Tr064Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def monitor() -> AsyncIterator[CallMonitorServer]:
    server = CallMonitorServer()
    await server.start()
    yield server
    await server.stop()


async def _driver(
    monitor: CallMonitorServer, tr064: Tr064Server, **options: Any
) -> tuple[FritzboxDriver, FritzContext]:
    context = FritzContext(
        {
            "host": "127.0.0.1",
            "monitor_port": monitor.port,
            "tr064_port": tr064.port,
            "user": tr064.user,
            "password": tr064.password,
            **options,
        },
        {1: "**610", 2: "**1"},
        {1: {"phone_name": "DECT: Mobilteil 1"}},
    )
    driver = FritzboxDriver(context)
    await driver.start()
    await context.connected()
    return driver, context


async def test_dialling_rings_the_chosen_phone_then_the_number(
    monitor: CallMonitorServer, tr064: Tr064Server
) -> None:
    driver, context = await _driver(monitor, tr064)
    await driver.dial(1, DialRequest("d-1", "+41446681812", "0041446681812"))
    assert tr064.actions == [
        ("X_AVM-DE_DialSetConfig", {"NewX_AVM-DE_PhoneName": "DECT: Mobilteil 1"}),
        ("X_AVM-DE_DialNumber", {"NewX_AVM-DE_PhoneNumber": "0041446681812"}),
    ]
    # The box reports the call the aid placed: it is tied to the journal's dial.
    await monitor.send(["28.11.26 10:00:00;CALL;2;10;987654;0041446681812;SIP0;"])
    call = await context.call(CallState.DIALLING, line_id=1)
    assert call.dial_ref == "d-1"
    # Given up before it connects: the aid hangs up.
    await driver.hangup(1, call.call_ref)
    assert tr064.actions[-1] == ("X_AVM-DE_DialHangup", {})
    await monitor.send(["28.11.26 10:00:05;DISCONNECT;2;0;"])
    ended = await context.call(CallState.ENDED, line_id=1)
    assert ended.last.end_reason is not None and ended.last.end_reason.value == "cancelled"
    # A call the aid did not place cannot be hung up from here.
    with pytest.raises(NotSupported):
        await driver.hangup(1, call.call_ref)
    await driver.stop()


async def test_a_wrong_password_is_refused_with_a_clear_message(
    monitor: CallMonitorServer, tr064: Tr064Server
) -> None:
    driver, _ = await _driver(monitor, tr064, password="wrong")
    with pytest.raises(DriverError, match="refused the user name or password"):
        await driver.dial(1, DialRequest("d-2", "0441234567", "0441234567"))
    assert tr064.refused_logins >= 1
    assert tr064.actions == []
    await driver.stop()


async def test_a_phone_the_box_does_not_know_and_a_line_without_one(
    monitor: CallMonitorServer, tr064: Tr064Server
) -> None:
    driver, context = await _driver(monitor, tr064)
    context.line_options[1] = {"phone_name": "DECT: Mobilteil 9"}
    with pytest.raises(DriverError, match="does not know the phone 'DECT: Mobilteil 9'"):
        await driver.dial(1, DialRequest("d-3", "0441234567", "0441234567"))
    with pytest.raises(DriverError, match="no phone name"):
        await driver.dial(2, DialRequest("d-4", "0441234567", "0441234567"))
    assert tr064.actions == []
    await driver.stop()


async def test_without_credentials_dialling_says_what_to_set(
    monitor: CallMonitorServer, tr064: Tr064Server
) -> None:
    driver, _ = await _driver(monitor, tr064, user="", password=None)
    with pytest.raises(DriverError, match="needs a FRITZ!Box user and password"):
        await driver.dial(1, DialRequest("d-5", "0441234567", "0441234567"))
    await driver.stop()


async def test_an_unreachable_tr064_port(monitor: CallMonitorServer, tr064: Tr064Server) -> None:
    tr064.stop()
    driver, _ = await _driver(monitor, tr064)
    with pytest.raises(DriverError, match="Cannot reach the FRITZ!Box's TR-064"):
        await driver.dial(1, DialRequest("d-6", "0441234567", "0441234567"))
    await driver.stop()
