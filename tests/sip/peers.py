"""Real SIP peers on 127.0.0.1 for tests and benchmarks: baresip, SIPp and Kamailio.

Everything runs on loopback, each peer on free ports, from files under a directory the caller
owns (pytest's `tmp_path`). `Peers` remembers every process it started and `Peers.close()`
stops them all, so a failing test leaks nothing; every process also has its own limit (`-t` for
baresip, `-timeout` for SIPp) in case even that never runs.

Reuse (journal tests, latency bench): `from peers import Peers` with `tests/sip` on `sys.path`
(pytest puts it there for tests in this directory), or use the fixtures in `conftest.py`.

Facts these helpers rely on are in `../shared/notes/sip-peers.md`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from offhook.drivers.sip.process import (
    BaresipConfig,
    account_line,
    find_module_path,
    no_core_dumps,
)

LOOPBACK = "127.0.0.1"
SCENARIOS = Path(__file__).parent / "scenarios"
HAVE_BARESIP_AND_SIPP = bool(shutil.which("baresip") and shutil.which("sipp"))
HAVE_KAMAILIO = bool(shutil.which("kamailio"))
#: baresip and SIPp quit by themselves after this long, should teardown never run.
SAFETY_SECONDS = 120
#: Generous: these are limits for things that take milliseconds on loopback.
TIMEOUT = 15.0


#: Where peers' ports come from: below the RTP ranges (`rtp_ports`) and below the ports the
#: system hands out for outgoing connections (32768 and up on Linux). Peers are restarted on
#: the same ports, as a user restarts a softphone; meanwhile a port from the outgoing range
#: can be taken by any new connection (to the database, say), and baresip then runs on
#: without its control port.
PORT_RANGE = (10000, 20000)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port that is free right now on 127.0.0.1 for UDP (default) or TCP."""
    for _ in range(200):
        port = random.randrange(*PORT_RANGE)
        if _port_free(port, tcp=kind == socket.SOCK_STREAM):
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {PORT_RANGE}")


def free_sip_port() -> int:
    """A port for baresip's SIP: it takes UDP and TCP on it and TCP (TLS) on the next one."""
    for _ in range(50):
        port = free_port()
        if port < 65535 and _port_free(port, tcp=True) and _port_free(port + 1, tcp=True):
            return port
    raise RuntimeError("no free SIP port on 127.0.0.1")


def free_media_ports() -> int:
    """A port (a multiple of four) whose next three ports are also free: SIPp's `-mp` binds
    audio RTP and RTCP there and video RTP and RTCP on the two after them, whether the
    scenario plays media or not."""
    for _ in range(50):
        port = free_port()
        port -= port % 4
        if all(_port_free(p) for p in range(port, port + 4)):
            return port
    raise RuntimeError("no four free UDP ports in a row on 127.0.0.1")


def _port_free(port: int, *, tcp: bool = False) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def is_listening(port: int, *, tcp: bool, pid: int | None = None) -> bool:
    """Whether a process (`pid`, if given) listens on 127.0.0.1:port.

    Read from /proc, so no probe packet disturbs the peer; with `pid`, a socket that another
    program happens to hold on that port does not count.
    """
    table, state = ("/proc/net/tcp", "0A") if tcp else ("/proc/net/udp", "07")
    addresses = (f"0100007F:{port:04X}", f"00000000:{port:04X}")
    try:
        with open(table) as rows:
            next(rows)
            inodes = {
                parts[9]
                for parts in (row.split() for row in rows)
                if parts[1] in addresses and parts[3] == state
            }
    except OSError:
        if not tcp:
            return not _port_free(port)
        with socket.socket() as sock:
            return sock.connect_ex((LOOPBACK, port)) == 0
    if pid is None or not inodes:
        return bool(inodes)
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    sockets = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            sockets.add(os.readlink(fd))
    return any(f"socket:[{inode}]" in sockets for inode in inodes)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(0.005)


def _stop(process: subprocess.Popen[bytes], grace: float = 2.0) -> None:
    """SIGTERM, SIGTERM, SIGKILL to the process group (baresip needs the second SIGTERM)."""
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children (Kamailio's workers)
    process.wait()


def _start(args: Sequence[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start a peer in its own directory, session and without core dumps.

    Tests kill peers on purpose; a crash must not drop a `core` file into the checkout.
    """
    with open(log, "ab") as output:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            preexec_fn=no_core_dumps,
            start_new_session=True,
        )


@dataclass
class BaresipPeer:
    """A baresip with one or more accounts, controlled over ctrl_tcp by whoever connects."""

    directory: Path
    user: str = "alice"
    #: Register at this Kamailio instead of taking direct IP calls.
    registrar_port: int | None = None
    answermode: str | None = None
    #: More accounts on the same baresip (users at the same address), as for extra numbers.
    extra_users: Sequence[str] = ()
    sip_port: int = field(default_factory=free_sip_port)
    ctrl_port: int = field(default_factory=lambda: free_port(socket.SOCK_STREAM))
    process: subprocess.Popen[bytes] | None = None

    @property
    def domain(self) -> str:
        port = self.registrar_port or self.sip_port
        return f"{LOOPBACK}:{port}"

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.domain}"

    @property
    def contact(self) -> str:
        """Where SIP for this peer goes directly (host:port)."""
        return f"{LOOPBACK}:{self.sip_port}"

    @property
    def log(self) -> Path:
        return self.directory / "baresip.log"

    def write_files(self) -> None:
        module_path = find_module_path()
        if module_path is None:
            raise RuntimeError("baresip's modules (ctrl_tcp.so) are not installed")
        config = BaresipConfig(
            ctrl_listen=f"{LOOPBACK}:{self.ctrl_port}",
            module_path=module_path,
            sip_listen=f"{LOOPBACK}:{self.sip_port}",
            net_interface=LOOPBACK,
            dns_server=f"{LOOPBACK}:53",
            rtp_ports=rtp_ports(),
            audio_player="aubridge,nil",
            audio_source="aubridge,nil",
            audio_alert="aubridge,nil",
        )
        regint = 60 if self.registrar_port else 0
        accounts = [
            account_line(f"sip:{user}@{self.domain}", regint=regint, answermode=self.answermode)
            for user in (self.user, *self.extra_users)
        ]
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "config").write_text(config.render())
        (self.directory / "accounts").write_text("".join(f"{a}\n" for a in accounts))
        (self.directory / "contacts").touch()

    def start(self) -> BaresipPeer:
        # A free port may be taken by another program between being found free and being
        # bound (the suite starts hundreds of peers): baresip then runs on without its SIP
        # socket, and calls to it go nowhere. It is started again on other ports.
        for attempt in range(3):
            self.write_files()
            args = ["baresip", "-f", str(self.directory), "-t", str(SAFETY_SECONDS)]
            self.process = _start(args, self.log, cwd=self.directory)
            try:
                wait_until(self.ready, f"baresip's control port {self.ctrl_port}")
            except RuntimeError:
                # baresip exits when its SIP port is taken ("Address already in use").
                if attempt == 2 or b"already in use" not in self.log.read_bytes():
                    raise
            else:
                if self._holds_sip_port():
                    return self
                if attempt == 2:
                    raise RuntimeError(f"baresip does not listen on SIP port {self.sip_port}")
            _stop(self.process)
            self.sip_port = free_sip_port()
            self.ctrl_port = free_port(socket.SOCK_STREAM)
        return self

    def _holds_sip_port(self) -> bool:
        assert self.process is not None
        pid = self.process.pid
        try:
            wait_until(lambda: is_listening(self.sip_port, tcp=False, pid=pid), "", timeout=2.0)
        except TimeoutError:
            return False
        return True

    def ready(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"baresip exited at start; see {self.log}")
        if is_listening(self.ctrl_port, tcp=True, pid=self.process.pid):
            return True
        # baresip runs on without a module that failed to start: say so now, not at timeout.
        if b"ctrl_tcp: failed to listen" in self.log.read_bytes():
            raise RuntimeError(f"baresip could not open its control port {self.ctrl_port}")
        return False

    def kill(self) -> None:
        """Kill baresip at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


_rtp_base = 20000 + (os.getpid() % 200) * 100


def rtp_ports() -> str:
    """An RTP port range of 100 ports, different for each peer started by this process."""
    global _rtp_base
    _rtp_base = 20000 + (_rtp_base - 20000 + 100) % 40000
    return f"{_rtp_base}-{_rtp_base + 99}"


@dataclass
class SippRun:
    """One SIPp process playing one scenario once."""

    scenario: str
    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    def finished(self) -> bool:
        return self.process.poll() is not None

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for SIPp to finish; return its exit code (0: the scenario went as written)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(
                f"SIPp {self.scenario} still running; see {self.directory}"
            ) from None

    async def result(self, timeout: float = TIMEOUT) -> int:
        """Like `wait`, without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"SIPp {self.scenario} still running; see {self.directory}")
            await asyncio.sleep(0.01)
        return self.process.returncode

    def messages(self) -> str:
        """The SIP messages SIPp sent and received (run with `trace=True`)."""
        return "\n".join(
            p.read_text(errors="replace") for p in self.directory.glob("*messages.log")
        )

    def errors(self) -> str:
        texts = [p.read_text(errors="replace") for p in self.directory.glob("*errors.log")]
        output = self.directory / "sipp.out"
        if output.exists():
            texts.append(output.read_text(errors="replace")[-2000:])
        return "\n".join(texts)

    def stop(self) -> None:
        _stop(self.process, grace=0.5)


@dataclass
class KamailioProxy:
    """Kamailio as registrar and stateful proxy, no auth, no database.

    A request for a user that is not registered goes to `gateway_port` on 127.0.0.1 if given,
    as a PBX sends calls to external numbers to its trunk. User "mallory" may not register
    (403), as with a wrong password.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    gateway_port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        unknown_user = (
            f'$du = "sip:{LOOPBACK}:{self.gateway_port}";'
            if self.gateway_port
            else 'sl_send_reply("404", "Not Found"); exit;'
        )
        return f"""#!KAMAILIO
debug=1
log_stderror=yes
children=2
listen=udp:{LOOPBACK}:{self.port}
alias={LOOPBACK}:{self.port}
dns=no
rev_dns=no
auto_aliases=no

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        # In-dialog: follow Route; lenient when there is none (send by Request-URI).
        if (!loose_route() && is_method("ACK") && !t_check_trans()) exit;
        t_relay();
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    if (is_method("REGISTER")) {{
        # "mallory" stands for an account with a wrong password.
        if ($fU == "mallory") {{ sl_send_reply("403", "Forbidden"); exit; }}
        save("location");
        exit;
    }}
    t_check_trans();
    record_route();
    if (uri == myself && !lookup("location")) {{ {unknown_user} }}
    t_relay();
}}
"""

    def start(self) -> KamailioProxy:
        self.directory.mkdir(parents=True, exist_ok=True)
        cfg = self.directory / "kamailio.cfg"
        cfg.write_text(self.config())
        run = self.directory / "run"
        run.mkdir(exist_ok=True)
        args = [
            "kamailio",
            "-f",
            str(cfg),
            "-DD",
            "-E",
            "-Y",
            str(run),
            "-w",
            str(run),
            "-m",
            "64",
            "-M",
            "8",
        ]
        self.process = _start(args, self.directory / "kamailio.log", cwd=self.directory)
        log = self.directory / "kamailio.log"

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"Kamailio exited at start: {log.read_text()[-2000:]}")
            return is_listening(self.port, tcp=False)

        wait_until(ready, f"Kamailio on UDP {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@dataclass
class Peers:
    """Starts peers under `directory` and stops every one of them in `close()`."""

    directory: Path
    _stoppers: list[Callable[[], None]] = field(default_factory=list)
    _count: int = 0

    def __post_init__(self) -> None:
        # Peers run inside their directories: relative paths in their arguments would break.
        self.directory = self.directory.absolute()

    def _dir(self, name: str) -> Path:
        self._count += 1
        path = self.directory / f"{self._count:02d}-{name}"
        path.mkdir(parents=True)
        return path

    def baresip(
        self,
        user: str = "alice",
        *,
        registrar_port: int | None = None,
        answermode: str | None = None,
        extra_users: Sequence[str] = (),
    ) -> BaresipPeer:
        peer = BaresipPeer(
            self._dir(f"baresip-{user}"),
            user,
            registrar_port=registrar_port,
            answermode=answermode,
            extra_users=extra_users,
        )
        self._stoppers.append(peer.stop)
        return peer.start()

    def kamailio(self, *, gateway_port: int | None = None) -> KamailioProxy:
        proxy = KamailioProxy(self._dir("kamailio"), gateway_port=gateway_port)
        self._stoppers.append(proxy.stop)
        return proxy.start()

    def sipp(
        self,
        scenario: str,
        target: str | None = None,
        *,
        service: str = "alice",
        cid_from: str | None = None,
        call_id: str | None = None,
        reply: str | None = None,
        pause_ms: int = 0,
        port: int | None = None,
        timeout: float = 30,
        trace: bool = False,
        calls: int = 1,
        rate: float | None = None,
        at_once: int | None = None,
        tries: int = 3,
    ) -> SippRun:
        """Run one SIPp scenario once (`uac*` call `target` host:port; `uas*` wait on `port`).

        `cid_from` is the caller's From header (e.g. '"Anna" <sip:+41441234567@127.0.0.1>');
        `call_id` is the Call-ID pattern (SIPp's `-cid_str`: %u call number, %p pid, %s IP);
        `reply` is the final response of `uas_reply` (e.g. "603 Decline");
        `pause_ms` is how long `uac_cid` holds the call and `uac_cancel` lets it ring.
        A `uas` scenario returns once SIPp listens, so baresip can dial it right away.
        `trace` keeps every SIP message in the run's directory (see `SippRun.messages`).
        For load (the latency bench): `calls` in all, `rate` new calls per second, at most
        `at_once` at the same time; `timeout` must then cover the whole run.
        """
        directory = self._dir(f"sipp-{scenario}")
        chosen = port
        port = port or free_port()
        args = [
            "sipp",
            "-sf",
            str(self._scenario(scenario, directory, reply)),
            "-i",
            LOOPBACK,
            "-mi",
            LOOPBACK,
            "-p",
            str(port),
            "-mp",
            str(free_media_ports()),
            "-s",
            service,
            "-m",
            str(calls),
            "-d",
            str(pause_ms),
            "-nostdin",
            "-timeout",
            f"{timeout:g}",
            "-timeout_error",
            "-trace_err",
        ]
        if cid_from is not None:
            args += ["-key", "cid_from", cid_from]
        if call_id is not None:
            args += ["-cid_str", call_id]
        if trace:
            args.append("-trace_msg")
        if rate is not None:
            args += ["-r", f"{rate:g}"]
        if at_once is not None:
            args += ["-l", str(at_once)]
        if target is not None:
            args.append(target)
        run = SippRun(
            scenario, _start(args, directory / "sipp.out", cwd=directory), port, directory
        )
        self._stoppers.append(run.stop)
        # SIPp binds its port before its first message: wait for that, so that a `uas` can be
        # dialled at once and a port taken meanwhile by another program is noticed here.
        wait_until(
            lambda: run.finished() or is_listening(port, tcp=False, pid=run.process.pid),
            f"SIPp on UDP {port}",
        )
        taken = run.finished() and run.process.returncode != 0 and "bind" in run.errors().lower()
        if taken and chosen is None and tries > 1:
            return self.sipp(
                scenario,
                target,
                service=service,
                cid_from=cid_from,
                call_id=call_id,
                reply=reply,
                pause_ms=pause_ms,
                port=None,
                timeout=timeout,
                trace=trace,
                calls=calls,
                rate=rate,
                at_once=at_once,
                tries=tries - 1,
            )
        return run

    @staticmethod
    def _scenario(name: str, directory: Path, reply: str | None) -> Path:
        source = SCENARIOS / f"{name}.xml"
        if reply is None:
            return source
        # SIPp checks response codes when it loads a scenario, before any -key is filled in,
        # so the reply goes into a copy of the scenario instead.
        text = source.read_text(encoding="iso-8859-1")
        if "[reply]" not in text:
            raise ValueError(f"scenario {name} takes no reply")
        copy = directory / source.name
        copy.write_text(text.replace("[reply]", reply), encoding="iso-8859-1")
        return copy

    def close(self) -> None:
        """Stop everything started here, newest first, even if stopping one of them fails."""
        errors = []
        while self._stoppers:
            stop = self._stoppers.pop()
            try:
                stop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@contextlib.contextmanager
def peers(directory: Path) -> Iterator[Peers]:
    group = Peers(directory)
    try:
        yield group
    finally:
        group.close()
