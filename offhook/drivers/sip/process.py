"""A baresip that offhook starts and supervises for one line ("managed mode").

offhook writes `config`, `accounts` and an empty `contacts` into a private runtime directory
(mode 0700; `accounts` holds the SIP password and is 0600) and runs `baresip -f DIR`. The control
port listens on 127.0.0.1 only. baresip's own output goes to `baresip.log` in that directory;
what offhook shows the user from it is scrubbed of the password first.

baresip runs in that directory with core dumps off (`RLIMIT_CORE` 0): a crashing or killed
baresip must not leave `core` files behind, and a core would hold the SIP password.

Stopping follows what baresip 1.0.0 needs: the first SIGTERM is graceful but can hang while an
INVITE is pending, a second one makes it exit at once, SIGKILL is the last resort.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from offhook.drivers.sip.ctrl import plain

log = logging.getLogger(__name__)

#: Where distributions put baresip's modules; the first that holds `ctrl_tcp.so` is used.
MODULE_PATHS = (
    "/usr/lib/baresip/modules",
    "/usr/lib64/baresip/modules",
    "/usr/local/lib/baresip/modules",
    "/usr/lib/x86_64-linux-gnu/baresip/modules",
    "/usr/lib/aarch64-linux-gnu/baresip/modules",
    "/opt/homebrew/lib/baresip/modules",
)
#: Codecs loaded when present, best first; G.711 is what every PBX speaks.
CODEC_MODULES = ("g711", "g722", "opus")
LOG_FILE = "baresip.log"
PID_FILE = "baresip.pid"
_MAX_LOG_BYTES = 1 << 20


class BaresipSetupError(Exception):
    """The line's options cannot make a working baresip; the message says what to change."""


def no_core_dumps() -> None:
    """Turn core dumps off for the calling process; run in the child between fork and exec.

    A limit set there cannot miss a crash at start-up, which setting it on the running child
    (`prlimit`) could. It only calls setrlimit, so it is safe in a forked child of a
    multi-threaded server.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def find_module_path(candidates: Iterable[str] = MODULE_PATHS) -> str | None:
    for candidate in candidates:
        if (Path(candidate) / "ctrl_tcp.so").is_file():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class BaresipConfig:
    """What goes into baresip's `config` file (baresip 1.0.0 keys)."""

    ctrl_listen: str  # host:port of ctrl_tcp
    module_path: str
    sip_listen: str | None = None  # host:port; None: baresip's default
    net_interface: str | None = None
    dns_server: str | None = None
    rtp_ports: str | None = None  # "20000-20099"
    audio_player: str = "alsa,default"
    audio_source: str = "alsa,default"
    audio_alert: str = "alsa,default"
    call_max_calls: int = 4
    #: Seconds an outgoing call may ring before baresip gives up.
    call_local_timeout: int = 120

    def modules(self) -> list[str]:
        """Modules to load (without `.so`); raises if a required one is not installed."""
        audio = {
            spec.split(",", 1)[0]
            for spec in (self.audio_player, self.audio_source, self.audio_alert)
        }
        wanted = [m for m in CODEC_MODULES if self._has(m)]
        if "g711" not in wanted:
            raise BaresipSetupError(
                f"baresip's G.711 codec (g711.so) is missing from {self.module_path}"
            )
        for driver in sorted(audio):
            if not self._has(driver):
                raise BaresipSetupError(
                    f"baresip has no audio driver '{driver}' in {self.module_path}; "
                    "use e.g. 'alsa,default', or 'aubridge,nil' on a machine without sound"
                )
            wanted.append(driver)
        for required in ("account", "menu", "ctrl_tcp"):
            if not self._has(required):
                raise BaresipSetupError(
                    f"baresip's {required}.so module is missing from {self.module_path}"
                )
        return wanted

    def render(self) -> str:
        lines: list[tuple[str, str]] = [("poll_method", "epoll")] if _linux() else []
        if self.sip_listen:
            lines.append(("sip_listen", self.sip_listen))
        if self.net_interface:
            lines.append(("net_interface", self.net_interface))
        if self.dns_server:
            lines.append(("dns_server", self.dns_server))
        lines += [
            ("call_local_timeout", str(self.call_local_timeout)),
            ("call_max_calls", str(self.call_max_calls)),
            ("audio_player", self.audio_player),
            ("audio_source", self.audio_source),
            ("audio_alert", self.audio_alert),
            ("audio_level", "no"),
        ]
        if self.rtp_ports:
            lines.append(("rtp_ports", self.rtp_ports))
        lines += [
            # No RTP for a while must not end a call: the line may be on hold.
            ("rtp_timeout", "0"),
            # The menu module prints a status line every 100 ms during calls and rings the
            # terminal bell; both would only fill baresip.log.
            ("statmode_default", "off"),
            ("menu_bell", "no"),
            ("module_path", self.module_path),
        ]
        lines += [("module", f"{name}.so") for name in self.modules()]
        lines += [
            ("module_tmp", "account.so"),
            ("module_app", "menu.so"),
            ("module_app", "ctrl_tcp.so"),
            ("ctrl_tcp_listen", self.ctrl_listen),
        ]
        width = max(len(key) for key, _ in lines) + 2
        return "".join(f"{key.ljust(width)}{value}\n" for key, value in lines)

    def _has(self, module: str) -> bool:
        return (Path(self.module_path) / f"{module}.so").is_file()


# Characters that end or break a value in baresip 1.0.0's account line.
_ACCOUNT_UNSAFE = set(';"<>\\') | {chr(c) for c in range(33)} | {"\x7f"}


def account_line(
    aor: str,
    *,
    auth_user: str | None = None,
    password: str | None = None,
    regint: int = 0,
    outbound: str | None = None,
    answermode: str | None = None,
) -> str:
    """One line of baresip's `accounts` file. `password` ends up in it: keep the file 0600."""
    for name, value in (("auth user", auth_user), ("password", password)):
        if value and _ACCOUNT_UNSAFE.intersection(value):
            raise BaresipSetupError(
                f"the SIP {name} contains a space, quote, ';', '<', '>' or '\\', which "
                "baresip 1.0.0 cannot read from its accounts file"
            )
    params = []
    if auth_user:
        params.append(f"auth_user={auth_user}")
    if password:
        params.append(f"auth_pass={password}")
    if outbound:
        params.append(f'outbound="{outbound}"')
    params.append(f"regint={regint}")
    if answermode:
        params.append(f"answermode={answermode}")
    return f"<{aor}>;" + ";".join(params)


@dataclass
class BaresipProcess:
    """One baresip process run from a generated configuration directory."""

    directory: Path
    config: BaresipConfig
    accounts: Sequence[str]
    executable: str = "baresip"
    #: Quit after this many seconds (`-t`): a safety net for tests.
    quit_after: int | None = None
    #: Text to blank out of anything shown from baresip's output (the SIP password).
    secrets: Sequence[str] = ()
    _process: asyncio.subprocess.Process | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # baresip runs inside the directory: a relative `-f` would then point elsewhere.
        self.directory = self.directory.absolute()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def write_files(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        (self.directory / "config").write_text(self.config.render(), encoding="utf-8")
        accounts = self.directory / "accounts"
        # Create it 0600 before the password is written, not chmod after.
        fd = os.open(accounts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write("".join(f"{line}\n" for line in self.accounts))
        (self.directory / "contacts").touch()

    async def start(self) -> None:
        """Write the configuration and start baresip (a leftover from a crash is stopped)."""
        if self.running:
            return
        await self._stop_leftover()
        self.write_files()
        log_path = self.directory / LOG_FILE
        if log_path.exists() and log_path.stat().st_size > _MAX_LOG_BYTES:
            log_path.unlink()
        args = [self.executable, "-f", str(self.directory)]
        if self.quit_after is not None:
            args += ["-t", str(self.quit_after)]
        with open(log_path, "ab") as output:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    *args,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=output,
                    stderr=asyncio.subprocess.STDOUT,
                    cwd=self.directory,
                    preexec_fn=no_core_dumps,
                    # Its own session: a Ctrl-C meant for offhook must not kill the line's
                    # phone behind offhook's back; offhook stops it in order.
                    start_new_session=True,
                )
            except FileNotFoundError:
                raise BaresipSetupError(
                    f"baresip is not installed (no '{self.executable}' program found)"
                ) from None
            except PermissionError:
                raise BaresipSetupError(f"'{self.executable}' cannot be run") from None
        (self.directory / PID_FILE).write_text(f"{self._process.pid}\n")
        log.info("started baresip (pid %s) from %s", self._process.pid, self.directory)

    async def wait(self) -> int:
        """Wait until baresip exits; return its exit code."""
        assert self._process is not None, "baresip was not started"
        return await self._process.wait()

    async def stop(self, grace: float = 2.0) -> None:
        """Stop baresip: SIGTERM, wait, SIGTERM again, wait, SIGKILL."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
                break
            except TimeoutError:
                continue
        (self.directory / PID_FILE).unlink(missing_ok=True)
        log.info("stopped baresip (pid %s)", process.pid)

    def last_output(self, lines: int = 5) -> str:
        """The end of baresip's output, without the password and terminal colour codes."""
        try:
            raw = (self.directory / LOG_FILE).read_bytes()[-4096:]
        except OSError:
            return ""
        text = raw.decode("utf-8", "replace")
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "********")
        cleaned = [plain(line).strip() for line in text.splitlines()]
        return "\n".join([line for line in cleaned if line][-lines:])

    async def _stop_leftover(self) -> None:
        """Stop a baresip left running from this directory by an offhook that crashed."""
        pid_file = self.directory / PID_FILE
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            return
        if str(self.directory).encode() not in cmdline:
            pid_file.unlink(missing_ok=True)
            return  # the pid was reused by another program
        log.warning("stopping a baresip (pid %s) left running by an earlier offhook", pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            for _ in range(40):
                if not Path(f"/proc/{pid}").exists():
                    pid_file.unlink(missing_ok=True)
                    return
                await asyncio.sleep(0.05)
        pid_file.unlink(missing_ok=True)


def _linux() -> bool:
    return os.uname().sysname == "Linux"
