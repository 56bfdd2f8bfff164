"""The `sip` line driver: a SIP softphone (baresip) as the line's phone.

Two ways to run it (see `SipOptions` in `options`):

- attach: baresip runs already (the user's own softphone); offhook connects to its ctrl_tcp
  control port. baresip serves one control client, so nothing else may use that port.
- managed: offhook writes a configuration for the line's SIP account and runs baresip itself,
  restarting it if it exits.

Either way the driver keeps reconnecting with exponential backoff and jitter. After every
(re)connect it asks baresip which calls exist and reconciles: a call that was connected while
nobody listened is reported connected, a call that ended unseen is ended by the core, so no call
stays ringing forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from offhook.calls.events import Direction
from offhook.drivers.contract import (
    DialRequest,
    Driver,
    DriverError,
    LineState,
    PhoneSystemContext,
)
from offhook.drivers.sip.ctrl import (
    CLOSED_BY_BARESIP,
    MAX_COMMAND_TEXT,
    BaresipControl,
    ControlError,
    NotListening,
    plain,
)
from offhook.drivers.sip.mapping import (
    LineCalls,
    TrackedCall,
    live_calls,
    parse_callstat,
    parse_listcalls,
    parse_reginfo,
    same_address,
)
from offhook.drivers.sip.options import SipOptions
from offhook.drivers.sip.process import (
    BaresipConfig,
    BaresipProcess,
    BaresipSetupError,
    account_line,
    find_module_path,
)
from offhook.drivers.sip.uris import LOOPBACK, dial_target, outbound_proxy
from offhook.settings.language import N_
from offhook.store.types import utcnow

log = logging.getLogger(__name__)

_DIAL_STRING = re.compile(r"^[^\s\x00-\x1f\x7f]{1,200}$")
_BACKOFF_FIRST = 0.25
_BACKOFF_MAX = 30.0
#: A session or process that lasted this long resets the backoff.
_STABLE_AFTER = 30.0
#: A managed baresip that exits within this many seconds of its start, this many times in a row,
#: puts the line into "failed" (it keeps being retried).
_QUICK_EXIT = 5.0
_QUICK_EXITS_FAILED = 3


class SipDriver(Driver):
    """One line on a baresip softphone, attached or managed: a phone system of one line."""

    name: ClassVar[str] = "sip"
    title: ClassVar[str] = N_("SIP softphone (baresip)")
    description: ClassVar[str] = N_(
        "Connects a line to the baresip SIP softphone: shows its calls live, dials, answers and "
        "hangs up. Attach to a baresip you run, or let offhook run one for a SIP account."
    )
    can_dial: ClassVar[bool] = True
    can_answer: ClassVar[bool] = True
    can_hangup: ClassVar[bool] = True
    # A softphone is one line: the line and its phone system are set up together.
    max_lines: ClassVar[int | None] = 1
    line_address_label: ClassVar[str] = N_("SIP address")
    line_address_example: ClassVar[str] = "sip:201@pbx.example.com"
    #: Managed mode: make baresip quit by itself after this many seconds (`-t`). Only for
    #: tests and demos, where nothing may outlive a crashed run.
    baresip_quit_after: ClassVar[int | None] = None

    Options = SipOptions

    def __init__(self, context: PhoneSystemContext) -> None:
        super().__init__(context)
        self.options = self.Options.model_validate(dict(context.options))
        #: The phone system's one line (0 while it has none).
        self.line_id = min(context.lines, default=0)
        self._calls = LineCalls(self.line_id)
        self._control: BaresipControl | None = None
        self._process: BaresipProcess | None = None
        self._runtime_dir: Path | None = None
        self._temporary_dir = False
        self._task: asyncio.Task[None] | None = None
        self._dial_lock = asyncio.Lock()
        #: The baresip account (AOR) this line dials from, once known.
        self._dial_account: str | None = self.options.account
        self._several_accounts = False
        self._stopping = False
        #: "registered", "registering", or why registering failed (managed with registrar).
        self._registration = "registering"
        #: When the last control connection ended: the best guess of when a baresip that is
        #: found not running lost its calls.
        self._lost_at: datetime | None = None
        #: The calls of a baresip found not running were ended; until the next connection.
        self._gone_reported = False
        #: Attached: the control connection was closed by a baresip that kept running.
        self._taken_over = False

    # -- Driver -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        if not self.line_id:
            self.context.set_status(LineState.FAILED, N_("this softphone has no line yet"))
            return
        self._stopping = False
        self.context.set_status(LineState.CONNECTING, self._where())
        # Supervised: should the loop ever die of a bug, the core shows the line failed and
        # restarts the driver (it never stays "connected" without a connection).
        self._task = self.context.spawn(self._run(), f"sip line {self.line_id}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            # `wait`, not `await`: a task that died of an error must not stop the cleanup.
            await asyncio.wait([self._task])
            self._task = None
        await self._disconnect()
        if self._process is not None:
            # Its calls end with it, now: reported now, they get their true duration, instead
            # of lasting until the line's next start reconciles them away.
            for event in self._calls.end_all(utcnow()):
                self.context.emit(event)
            await self._process.stop()
            self._process = None
        self._clean_runtime_dir()
        self.context.set_status(LineState.STOPPED)

    async def lines_changed(self) -> None:
        # The softphone's one line was edited, or replaced by another: restart for it.
        await self.stop()
        self.line_id = min(self.context.lines, default=0)
        self._calls = LineCalls(self.line_id)
        await self.start()

    async def dial(self, line_id: int, request: DialRequest) -> None:
        target = dial_target(request.dial_string, self.options.dial_uri_template)
        if not _DIAL_STRING.match(target):
            raise DriverError(
                f"cannot dial {request.number!r}: the dial string must be 1 to 200 characters "
                "without spaces"
            )
        control = self._connected()
        async with self._dial_lock:
            known = {call.call_ref for call in self._calls.live()}
            self._calls.expect_dial(request.dial_ref, target)
            commands: list[tuple[str, str | None]] = self._select_account(self._dial_account)
            # `callstat` right after `dial` describes the new call: baresip runs both in one
            # go, and `dial` gives no call id of its own.
            commands += [("dial", target), ("callstat", None)]
            try:
                responses = await control.batch(commands)
            except ControlError as exc:
                self._calls.forget_dial(request.dial_ref)
                raise DriverError(f"could not dial {request.number}: {exc}") from None
            dialled = responses[-2]
            if not dialled.ok:
                self._calls.forget_dial(request.dial_ref)
                why = plain(dialled.data).strip() or "baresip refused"
                raise DriverError(f"could not dial {request.number}: {why}")
            placed = parse_callstat(responses[-1].data)
            if (
                placed is None
                or placed.direction is not Direction.OUTGOING
                or placed.call_ref in known  # an older call: this dial made none
            ):
                # Left pending: the call's first event is matched on its peer URI instead.
                log.debug("line %s: baresip did not name the new call", self.line_id)
                return
            for event in self._calls.dial_placed(request.dial_ref, placed, utcnow()):
                self.context.emit(event)

    async def answer(self, line_id: int, call_ref: str) -> None:
        call = self._find(call_ref)
        if call is None:
            raise DriverError("this call is no longer ringing on the line")
        if call.direction is not Direction.INCOMING:
            raise DriverError("only an incoming call can be answered")
        if call.established:
            return
        others = [
            other
            for other in self._calls.live()
            if other is not call and other.account == call.account and not other.established
        ]
        if others:
            raise DriverError(
                "baresip 1.0.0 cannot answer a call while another call on this line is still "
                "ringing or being dialled: reject or finish that call first"
            )
        await self._on_call(call.call_ref, call.account, "accept", "answer")

    async def hangup(self, line_id: int, call_ref: str) -> None:
        call = self._find(call_ref)
        if call is None:
            raise DriverError("this call has already ended")
        self._calls.hangup_requested(call.call_ref)
        await self._on_call(call.call_ref, call.account, "hangup", "hang up")

    def _find(self, call_ref: str) -> TrackedCall | None:
        """The call the core means. Right after dialling, the core may still know the call by
        its placeholder `dial:<dial_ref>` (the event naming it is queued behind the user's
        click): the driver knows which call that is."""
        call = self._calls.get(call_ref)
        if call is None and call_ref.startswith("dial:"):
            call = self._calls.by_dial_ref(call_ref.removeprefix("dial:"))
        return call

    # -- commands ---------------------------------------------------------------------------

    def _connected(self) -> BaresipControl:
        control = self._control
        if control is None or control.is_closed:
            raise DriverError("the line is not connected to baresip right now; try again shortly")
        return control

    def _select_account(self, account: str | None) -> list[tuple[str, str | None]]:
        # `uafind` makes an account baresip's current one, which `dial`, `callfind`, `accept`
        # and `hangup` act on. With one account there is nothing to select.
        if account and self._several_accounts:
            return [("uafind", account)]
        return []

    async def _on_call(self, call_ref: str, account: str, command: str, verb: str) -> None:
        """Run `command` on one call: baresip 1.0.0 acts on the current call only, so make
        this one current first (`callfind`), in the same write so no SIP event comes between.

        If the call ended on the far side at that very moment, `callfind` fails and the
        command hits baresip's current call instead; that is logged, and needs two calls
        at once plus an exact race.
        """
        control = self._connected()
        select = self._select_account(account)
        if len(f"callfind {call_ref}".encode()) > MAX_COMMAND_TEXT:
            # baresip cuts commands at 255 bytes, so a caller's long Call-ID cannot be named.
            # The only call of the account is baresip's current call anyway: act on it as is.
            others = [c for c in self._calls.live() if c.call_ref != call_ref]
            if any(other.account == account for other in others):
                raise DriverError(
                    f"could not {verb} the call: its caller's Call-ID is too long for baresip "
                    "to pick it out while another call is on the line; use the softphone"
                )
            try:
                responses = await control.batch([*select, (command, None)])
            except ControlError as exc:
                raise DriverError(f"could not {verb} the call: {exc}") from None
            if not responses[-1].ok:
                why = plain(responses[-1].data).strip() or "baresip refused"
                raise DriverError(f"could not {verb} the call: {why}")
            return
        commands = [*select, ("callfind", call_ref), (command, None)]
        try:
            responses = await control.batch(commands)
        except ControlError as exc:
            raise DriverError(f"could not {verb} the call: {exc}") from None
        found = responses[-2]
        if not found.ok or "not found" in found.data:
            log.warning(
                "line %s: call %s was gone when asked to %s it",
                self.line_id,
                call_ref,
                verb,
            )
            raise DriverError("this call has already ended")
        if not responses[-1].ok:
            why = plain(responses[-1].data).strip() or "baresip refused"
            raise DriverError(f"could not {verb} the call: {why}")

    # -- connection -------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        quick_exits = 0  # managed: baresip exited soon after it started, this many times in a row
        closed_by_baresip = False
        while not self._stopping:
            started = asyncio.get_running_loop().time()
            refused = False
            # baresip closed our connection, yet takes a new one at once: it did not go away,
            # so another client took its one control connection (see `_report_line`).
            self._taken_over = closed_by_baresip
            try:
                if self.options.managed:
                    await self._ensure_baresip()
                reason = await self._session()
            except BaresipSetupError as exc:
                await self._disconnect()
                log.error("line %s: %s", self.line_id, exc)
                self.context.set_status(LineState.FAILED, str(exc))
                return
            except ControlError as exc:
                reason = str(exc)
                refused = isinstance(exc, NotListening)
            except OSError as exc:  # e.g. the runtime directory cannot be written
                reason = f"could not start baresip: {exc}"
            except Exception as exc:
                # A bug must not leave the line silently dead: report it and start over.
                log.exception("line %s: unexpected error", self.line_id)
                reason = f"unexpected error ({type(exc).__name__}: {exc})"
            await self._disconnect()
            if self._stopping:
                return
            closed_by_baresip = not self.options.managed and reason.startswith(CLOSED_BY_BARESIP)
            lasted = asyncio.get_running_loop().time() - started
            if lasted > _STABLE_AFTER:
                attempt = 0
            exited = self._process is not None and not self._process.running
            # Attached: a refused connection means no baresip runs there (a dropped network
            # or a busy control port does not refuse). Managed: we saw it exit.
            if exited or (refused and not self.options.managed):
                self._baresip_gone()
            quick_exits = quick_exits + 1 if exited and lasted < _QUICK_EXIT else 0
            delay = min(_BACKOFF_MAX, _BACKOFF_FIRST * 2**attempt) * random.uniform(0.5, 1.0)
            attempt += 1
            # baresip that cannot even start (port taken, bad setting) will not heal by itself:
            # say so, but keep trying, as the cause may go away (another program exits).
            state = (
                LineState.FAILED if quick_exits >= _QUICK_EXITS_FAILED else LineState.RECONNECTING
            )
            log.warning("line %s: %s; retrying in %.1f s", self.line_id, reason, delay)
            self.context.set_status(state, f"{reason}; retrying in {delay:.1f} s")
            await asyncio.sleep(delay)

    async def _session(self) -> str:
        """Connect, reconcile, then serve events until the connection or baresip is gone."""
        host, port = self._ctrl_address()
        control = await self._connect(host, port)
        try:
            await self._reconcile(control)
        except BaseException:
            await control.close()
            raise
        # Only now may dial/answer/hangup use it: reconciliation moves baresip's current call.
        self._control = control
        self._lost_at, self._gone_reported = None, False
        self._report_line()
        log.info("line %s: connected to baresip at %s:%s", self.line_id, host, port)
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(control.closed())]
        if self._process is not None:
            waits.append(asyncio.ensure_future(self._process.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        self._lost_at = utcnow()
        if self._process is not None:
            # A killed baresip closes the connection before its exit is noticed: give that a
            # moment, so the user is told baresip exited rather than that a connection closed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._process.wait(), 0.5)
            if not self._process.running:
                return self._exit_reason()
        # Whether baresip quit or another client took the connection over is only known at
        # the next attempt: refused (`NotListening`), or taken again (`_taken_over`).
        return await control.closed()

    async def _connect(self, host: str, port: int) -> BaresipControl:
        if not self.options.managed:
            return await BaresipControl.connect(host, port, self._on_event)
        # A baresip just started opens its control port after some 50 ms.
        deadline = asyncio.get_running_loop().time() + 10.0
        while True:
            try:
                return await BaresipControl.connect(host, port, self._on_event)
            except ControlError:
                if self._process is None or not self._process.running:
                    raise ControlError(self._exit_reason()) from None
                if asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.05)

    def _baresip_gone(self) -> None:
        """baresip is not running, so none of its calls exist: end every call of the line.

        Once per outage, as of the moment the connection was lost (when a killed baresip took
        its calls with it), so that while baresip is down no call shows as ringing or
        connected, and no duration grows by the downtime. When it is back, reconciliation
        runs as after every connect.
        """
        if self._gone_reported:
            return
        self._gone_reported = True
        self._calls.forget_all()
        self.context.reconcile((), self._lost_at or utcnow(), "baresip stopped")

    async def _disconnect(self) -> None:
        self._calls.lost_contact()
        control, self._control = self._control, None
        if control is not None:
            await control.close()

    async def _reconcile(self, control: BaresipControl) -> None:
        """Ask baresip which calls exist, report them, and let the core end the others."""
        since = self._calls.mark()
        agents = parse_reginfo((await control.command("reginfo")).data)
        accounts = [aor for aor, _ in agents]
        self._several_accounts = len(accounts) > 1
        if self.options.account and accounts:
            # baresip spells the AOR its own way (no URI parameters): use its spelling.
            mine = [aor for aor in accounts if same_address(aor, self.options.account)]
            if not mine:
                raise BaresipSetupError(
                    f"baresip has no account {self.options.account}; it has {', '.join(accounts)}"
                )
            self._dial_account = mine[0]
        elif accounts:
            self._dial_account = accounts[0]
        callstats: list[str] = []
        for account in accounts or [""]:
            select = self._select_account(account)
            listing = await control.batch([*select, ("listcalls", None)])
            lines = parse_listcalls(listing[-1].data)
            if not lines:
                continue
            commands = list(select)
            for line in lines:
                commands += [("line", str(line)), ("callstat", None)]
            responses = await control.batch(commands)
            callstats += [r.data for r in responses[len(select) + 1 :: 2]]
        if self._several_accounts and self._dial_account:
            await control.batch(self._select_account(self._dial_account))
        at = utcnow()
        events, live = self._calls.reconcile(live_calls(callstats), since, at)
        for event in events:
            self.context.emit(event)
        self.context.reconcile(live, at, "ended while baresip was out of reach")
        self._registration_from(agents)

    def _on_event(self, event: Mapping[str, Any]) -> None:
        if event.get("class") == "register":
            kind = event.get("type")
            if kind in ("REGISTER_OK", "REGISTER_FAIL") and event.get("accountaor") in (
                None,
                self._dial_account,
            ):
                detail = plain(str(event.get("param") or "")).strip()
                self._registration = "registered" if kind == "REGISTER_OK" else detail or "failed"
                if self._control is not None and not self._control.is_closed:
                    self._report_line()
            return
        for call_event in self._calls.on_event(event, utcnow()):
            self.context.emit(call_event)

    def _report_line(self) -> None:
        """Tell the user the line is connected, or why it does not work though connected."""
        if self._taken_over:
            self.context.set_status(
                LineState.CONNECTED,
                f"{self._where()}; baresip had closed the connection while running: is another "
                "program using its control port? baresip serves one at a time",
            )
        elif not (self.options.managed and self.options.registrar):
            self.context.set_status(LineState.CONNECTED, self._where())
        elif self._registration in ("registered", "registering"):
            self.context.set_status(LineState.CONNECTED, f"{self._where()}, {self._registration}")
        else:
            self.context.set_status(
                LineState.RECONNECTING,
                f"not registered at {self.options.registrar}: {self._registration}; baresip "
                "keeps trying (check account, auth_user and password)",
            )

    def _registration_from(self, agents: list[tuple[str, str]]) -> None:
        # reginfo shows "OK" when registered, "zzz" while trying, "ERR" after a failure.
        status = dict(agents).get(self._dial_account or "", "")
        if "OK" in status.split():
            self._registration = "registered"
        elif "ERR" in status.split():
            self._registration = self._registration_error() or "registration failed"
        else:
            self._registration = "registering"

    def _registration_error(self) -> str | None:
        """Why registering failed, from baresip's output (reginfo only says "ERR")."""
        if self._process is None:
            return None
        prefix = f"reg: {self._dial_account}: "
        for line in reversed(self._process.last_output(50).splitlines()):
            if line.startswith(prefix):
                return line.removeprefix(prefix)
        return None

    # -- managed baresip --------------------------------------------------------------------

    def _ctrl_address(self) -> tuple[str, int]:
        if self.options.managed:
            assert self._process is not None
            host, _, port = self._process.config.ctrl_listen.rpartition(":")
            return host, int(port)
        assert self.options.ctrl_port is not None
        return self.options.ctrl_host, self.options.ctrl_port

    def _where(self) -> str:
        if self.options.managed:
            pid = self._process.pid if self._process and self._process.running else None
            running = f"baresip (pid {pid})" if pid else "baresip"
            return f"{running} for {self.options.account}"
        return f"baresip at {self.options.ctrl_host}:{self.options.ctrl_port}"

    async def _ensure_baresip(self) -> None:
        if self._process is not None and self._process.running:
            return
        if self._process is None:
            self._process = self._new_process()
        elif self.options.ctrl_port is None:
            # A fresh port each start: the old one may be taken by now.
            self._process = self._new_process()
        await self._process.start()

    def _new_process(self) -> BaresipProcess:
        options = self.options
        executable = shutil.which(options.baresip_path)
        if executable is None:
            raise BaresipSetupError(
                f"baresip is not installed: no program '{options.baresip_path}' found "
                "(Debian/Ubuntu: apt install baresip-core)"
            )
        module_path = options.module_path or find_module_path()
        if module_path is None or not Path(module_path, "ctrl_tcp.so").is_file():
            raise BaresipSetupError(
                "baresip's modules (ctrl_tcp.so) were not found; set module_path"
            )
        ctrl_port = options.ctrl_port or _free_tcp_port()
        player = options.audio_player
        config = BaresipConfig(
            ctrl_listen=f"{LOOPBACK}:{ctrl_port}",
            module_path=module_path,
            sip_listen=options.sip_listen,
            net_interface=options.net_interface,
            dns_server=options.dns_server,
            rtp_ports=options.rtp_ports,
            audio_player=player,
            audio_source=options.audio_source,
            audio_alert=options.audio_alert or player,
        )
        config.modules()  # fail now, with a clear message, if a module is missing
        password = options.password.get_secret_value() if options.password else None
        assert options.account is not None
        account = account_line(
            options.account,
            auth_user=options.auth_user,
            password=password,
            regint=options.register_interval if options.registrar else 0,
            outbound=outbound_proxy(options.account, options.registrar),
        )
        return BaresipProcess(
            directory=self._directory(),
            config=config,
            accounts=[account],
            executable=executable,
            quit_after=self.baresip_quit_after,
            secrets=[password] if password else [],
        )

    def _directory(self) -> Path:
        if self._runtime_dir is None:
            line = f"sip-line-{self.line_id}"
            if self.options.runtime_dir:
                self._runtime_dir = Path(self.options.runtime_dir)
            elif (xdg := os.environ.get("XDG_RUNTIME_DIR")) and Path(xdg).is_dir():
                self._runtime_dir = Path(xdg) / "offhook" / line
            else:
                self._runtime_dir = Path(tempfile.mkdtemp(prefix=f"offhook-{line}-"))
                self._temporary_dir = True
        return self._runtime_dir

    def _clean_runtime_dir(self) -> None:
        directory = self._runtime_dir
        if directory is None:
            return
        if self._temporary_dir:
            shutil.rmtree(directory, ignore_errors=True)
            self._runtime_dir = None
        else:
            # The password has no business on disk while baresip is not running.
            (directory / "accounts").unlink(missing_ok=True)

    def _exit_reason(self) -> str:
        process = self._process
        code = process.returncode if process is not None else None
        if process is None or code is None:
            return "baresip is not running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"baresip was stopped ({name})"
        if code == 0:
            return "baresip quit"
        output = process.last_output(3).replace("\n", " | ")
        return f"baresip exited with code {code}" + (f": {output}" if output else "")


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
