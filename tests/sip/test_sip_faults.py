"""Faults with real peers: baresip killed and restarted, the control connection taken away.

What must hold afterwards (issue 4, item 4): no call stays ringing or connected that is not,
a call connected while nobody listened shows as connected, no ended call is lost, and the line
tells the user what is going on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Line, managed_options, needs_peers
from peers import LOOPBACK, Peers, free_port

from offhook.calls.events import CallState, EndReason
from offhook.drivers.contract import LineState
from offhook.drivers.sip.ctrl import BaresipControl
from offhook.drivers.sip.netstring import encode

pytestmark = [pytest.mark.sip, needs_peers]

ANNA = '"Anna" <sip:+41441111111@127.0.0.1>'
BERT = '"Bert" <sip:+41442222222@127.0.0.1>'
CARL = '"Carl" <sip:+41443333333@127.0.0.1>'
DORA = '"Dora" <sip:+41444444444@127.0.0.1>'  # calls once the line is back


async def one_finished_one_connected_one_ringing(line: Line, peers: Peers, target: str) -> None:
    """Anna called and hung up; Bert is connected; Carl rings."""
    anna = peers.sipp("uac_cid", target, cid_from=ANNA, pause_ms=10)
    ringing = await line.context.call(CallState.RINGING, number="+41441111111")
    await line.driver.answer(line.driver.line_id, ringing.call_ref)
    await line.context.call(CallState.ENDED, number="+41441111111")
    assert await anna.result() == 0, anna.errors()

    peers.sipp("uac_wait_bye", target, cid_from=BERT, timeout=20)
    ringing = await line.context.call(CallState.RINGING, number="+41442222222")
    await line.driver.answer(line.driver.line_id, ringing.call_ref)
    await line.context.call(CallState.CONNECTED, number="+41442222222")

    peers.sipp("uac_wait_bye", target, cid_from=CARL, timeout=20)
    await line.context.call(CallState.RINGING, number="+41443333333")


def assert_reconciled(line: Line) -> None:
    context = line.context
    assert not context.open_calls(), "a call still shows as ringing or connected"
    finished = next(v for v in context.calls.values() if "+41441111111" in v.remote_number)
    assert finished.last.end_reason is EndReason.ANSWERED, "the finished call changed"
    assert not finished.ended_by_reconcile
    for number in ("+41442222222", "+41443333333"):
        view = next(v for v in context.calls.values() if number in v.remote_number)
        assert view.ended_by_reconcile


async def test_attached_baresip_killed_and_restarted(attached_line: Line, peers: Peers) -> None:
    line = attached_line
    baresip = line.baresip
    assert baresip is not None
    await one_finished_one_connected_one_ringing(line, peers, baresip.contact)

    killed_at = datetime.now(UTC)
    baresip.kill()
    # While baresip is down its calls are over: none shows as ringing or connected, and they
    # end as of the moment baresip went, not when it comes back.
    await line.context.wait_for(lambda: not line.context.open_calls(), "the calls to end")
    ended_at = line.context.reconciled_at[-1]
    assert ended_at is not None and killed_at <= ended_at <= datetime.now(UTC)
    assert_reconciled(line)
    state, reason = line.context.statuses[-1]
    assert state is LineState.RECONNECTING
    assert "baresip is not running" in reason

    reconnects = len(line.context.reconciliations)
    baresip.start()  # same ports, as a user restarting their softphone
    await line.context.wait_for(
        lambda: len(line.context.reconciliations) > reconnects, "the line to reconcile"
    )
    await line.context.connected()
    assert line.context.reconciliations[-1] == set()
    assert_reconciled(line)

    # And the line works again.
    caller = peers.sipp("uac_cancel", baresip.contact, cid_from=DORA, pause_ms=10)
    await line.context.call(CallState.RINGING, number="+41444444444")
    assert await caller.result() == 0, caller.errors()


async def test_control_connection_taken_while_calls_change(
    attached_line: Line, peers: Peers
) -> None:
    """While another program holds baresip's only control connection, one ringing call is
    answered and another rejected there. Back in control, the line shows both right."""
    line = attached_line
    baresip = line.baresip
    assert baresip is not None
    anna = peers.sipp("uac_wait_bye", baresip.contact, cid_from=ANNA)
    first = await line.context.call(CallState.RINGING, number="+41441111111")
    bert = peers.sipp("uac_reject", baresip.contact, cid_from=BERT)
    second = await line.context.call(CallState.RINGING, number="+41442222222")

    reconnects = len(line.context.reconciliations)
    intruder = await BaresipControl.connect(LOOPBACK, baresip.ctrl_port, lambda event: None)
    await intruder.batch(
        [
            ("callfind", second.call_ref),
            ("hangup", None),
            ("callfind", first.call_ref),
            ("accept", None),
        ]
    )
    await intruder.close()

    await line.context.wait_for(
        lambda: len(line.context.reconciliations) > reconnects, "the line to reconcile"
    )
    connected = await line.context.call(CallState.CONNECTED, number="+41441111111")
    assert connected.call_ref == first.call_ref
    assert line.context.calls[second.call_ref].ended_by_reconcile
    assert await bert.result() == 0, bert.errors()
    assert any("another program" in reason for _, reason in line.context.statuses)

    # The answered call is fully usable: we hang it up, and it ends as answered.
    await line.driver.hangup(line.driver.line_id, first.call_ref)
    ended = await line.context.call(CallState.ENDED, number="+41441111111")
    assert ended.last.end_reason is EndReason.ANSWERED
    assert await anna.result() == 0, anna.errors()


async def test_managed_baresip_killed_mid_call_is_restarted(
    peers: Peers, make_line: Any, tmp_path: Path
) -> None:
    line: Line = await make_line(managed_options(tmp_path, f"sip:alice@{LOOPBACK}:{free_port()}"))
    await line.context.connected()
    target = line.driver.options.sip_listen
    assert target is not None
    await one_finished_one_connected_one_ringing(line, peers, target)

    pid_file = tmp_path / "line" / "baresip.pid"
    first_pid = int(pid_file.read_text())
    reconnects = len(line.context.reconciliations)
    os.kill(first_pid, signal.SIGKILL)

    await line.context.wait_for(
        lambda: len(line.context.reconciliations) > reconnects, "baresip restarted and reconciled"
    )
    await line.context.connected()
    assert int(pid_file.read_text()) != first_pid
    assert any(
        state is LineState.RECONNECTING and "baresip was stopped (SIGKILL)" in reason
        for state, reason in line.context.statuses
    )
    assert_reconciled(line)

    caller = peers.sipp("uac_cancel", target, cid_from=DORA, pause_ms=10)
    ringing = await line.context.call(CallState.RINGING, number="+41444444444")
    assert not ringing.ended_by_reconcile
    assert await caller.result() == 0, caller.errors()


async def test_managed_line_stop_ends_its_calls_and_leaves_nothing_running(
    peers: Peers, make_line: Any, tmp_path: Path
) -> None:
    line: Line = await make_line(managed_options(tmp_path, f"sip:alice@{LOOPBACK}:{free_port()}"))
    await line.context.connected()
    assert line.driver.options.sip_listen is not None
    peers.sipp("uac_wait_bye", line.driver.options.sip_listen, cid_from=ANNA)
    ringing = await line.context.call(CallState.RINGING)
    await line.driver.answer(line.driver.line_id, ringing.call_ref)
    await line.context.call(CallState.CONNECTED)
    pid = int((tmp_path / "line" / "baresip.pid").read_text())

    await line.driver.stop()

    assert line.context.state is LineState.STOPPED
    ended = line.context.calls[ringing.call_ref]
    assert (ended.state, ended.last.end_reason) == (CallState.ENDED, EndReason.ANSWERED)
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    assert not (tmp_path / "line" / "accounts").exists()


async def test_unreachable_baresip_is_retried_with_the_reason_shown(make_line: Any) -> None:
    port = free_port(socket.SOCK_STREAM)
    line: Line = await make_line({"ctrl_port": port})
    _, reason = await line.context.wait_for(
        lambda: next((s for s in line.context.statuses if s[0] is LineState.RECONNECTING), None),
        "the line to report it cannot reach baresip",
    )
    assert f"127.0.0.1:{port}" in reason
    assert "retrying in" in reason


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


async def test_managed_baresip_that_cannot_start_fails_the_line(
    make_line: Any, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOOPBACK, 0))
        port = taken.getsockname()[1]
        line: Line = await make_line(
            managed_options(
                tmp_path, f"sip:alice@{LOOPBACK}:{port}", sip_listen=f"{LOOPBACK}:{port}"
            )
        )
        state, reason = await line.context.wait_for(
            lambda: next((s for s in line.context.statuses if s[0] is LineState.FAILED), None),
            "the line to fail",
        )
    assert state is LineState.FAILED
    assert "baresip exited with code" in reason
    assert "Address already in use" in reason  # baresip's own words, for the admin
    assert "retrying in" in reason


def core_limit(pid: int) -> str:
    """The 'Max core file size' soft and hard limits of a process, as /proc shows them."""
    for row in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if row.startswith("Max core file size"):
            return " ".join(row.split()[4:6])
    raise AssertionError(f"no core limit for {pid}")


@pytest.fixture
def cores_allowed() -> Any:
    """Let this test process dump core, so that only the driver's own limit can stop it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if hard == 0:
        pytest.skip("core dumps are off for this process and cannot be turned on")
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


async def test_baresips_run_without_core_dumps(
    make_line: Any, tmp_path: Path, peers: Peers
) -> None:
    """The driver's managed baresip and the harness's peers: RLIMIT_CORE 0, soft and hard."""
    line: Line = await make_line(managed_options(tmp_path, f"sip:alice@{LOOPBACK}:{free_port()}"))
    await line.context.connected()
    assert core_limit(int((tmp_path / "line" / "baresip.pid").read_text())) == "0 0"
    harness_baresip = peers.baresip("bob")
    assert harness_baresip.process is not None
    assert core_limit(harness_baresip.process.pid) == "0 0"


async def test_crashing_managed_baresip_leaves_no_core_file(
    make_line: Any, tmp_path: Path, cores_allowed: None
) -> None:
    line: Line = await make_line(managed_options(tmp_path, f"sip:alice@{LOOPBACK}:{free_port()}"))
    await line.context.connected()
    pid = int((tmp_path / "line" / "baresip.pid").read_text())

    reconnects = len(line.context.reconciliations)
    os.kill(pid, signal.SIGSEGV)  # a crash
    await line.context.wait_for(
        lambda: len(line.context.reconciliations) > reconnects + 1, "baresip restarted"
    )
    await line.context.connected()
    assert any("SIGSEGV" in reason for _, reason in line.context.statuses)
    places = [tmp_path / "line", Path.cwd()]
    assert not [core for place in places for core in place.glob("core*")]


class InjectingProxy:
    """Stands between the driver and a real baresip's control port, and can slip bytes into
    what baresip says: the hostile frame of issue 8, defect 4, on a real connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._to_driver: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> InjectingProxy:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def connections(self) -> int:
        return len(self._to_driver)

    def inject(self, data: bytes) -> None:
        self._to_driver[-1].write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
        self._to_driver.append(writer)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        for task in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self._tasks.add(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._to_driver:
            writer.close()


async def test_deeply_nested_json_from_the_control_port_drops_and_reconnects(
    peers: Peers, make_line: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8, defect 4: a frame of deeply nested JSON killed the reader with RecursionError;
    the line kept showing "connected" and never reconnected. Now the frame is refused before it
    is parsed, the line says why and reconnects, and calls are reported again."""
    baresip = peers.baresip("alice")
    proxy = await InjectingProxy(baresip.ctrl_port).start()
    try:
        line = await make_line({"ctrl_port": proxy.port})
        await line.context.connected()
        reconnects = len(line.context.reconciliations)
        depth = 100_000
        proxy.inject(encode(b'{"event":true,"x":' + b"[" * depth + b"]" * depth + b"}"))

        def refused() -> bool:
            return any(
                state is LineState.RECONNECTING and "nests" in reason
                for state, reason in line.context.statuses
            )

        await line.context.wait_for(refused, "the line to report the refused frame")
        await line.context.wait_for(
            lambda: len(line.context.reconciliations) > reconnects, "the line to reconcile"
        )
        await line.context.connected()
        assert proxy.connections == 2
        caller = peers.sipp("uac_cancel", baresip.contact, cid_from=DORA, pause_ms=10)
        await line.context.call(CallState.RINGING, number="+41444444444")
        assert await caller.result() == 0, caller.errors()
    finally:
        await proxy.close()
    assert "RecursionError" not in caplog.text
