"""A real Asterisk (built by `build.py`) on 127.0.0.1, configured for one test under tmp.

Unprivileged ports only, its own configuration, spool and log folders; PJSIP with a UDP
transport, a trunk identified by address (SIPp callers) and phones with static contacts (SIPp
answerers), AMI with one user (least permissions, as the driver's README asks).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

MANAGER_USER = "offhook"
MANAGER_SECRET = "amipass-9f2c"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Asterisk:
    prefix: Path
    directory: Path
    #: Phones: endpoint name → the UDP port its SIPp answerer listens on.
    phones: dict[str, int]
    ami_port: int = field(default_factory=free_tcp_port)
    sip_port: int = field(default_factory=free_udp_port)
    process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        etc = self.directory / "etc"
        for sub in ("etc", "lib", "spool", "run", "log"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        d = self.directory
        (etc / "asterisk.conf").write_text(
            "[directories]\n"
            f"astetcdir => {etc}\nastmoddir => {self.prefix}/lib/asterisk/modules\n"
            f"astvarlibdir => {d}/lib\nastdbdir => {d}/lib\nastkeydir => {d}/lib\n"
            f"astdatadir => {self.prefix}/var/lib/asterisk\nastagidir => {d}/lib\n"
            f"astspooldir => {d}/spool\n"
            f"astrundir => {d}/run\nastlogdir => {d}/log\nastsbindir => {self.prefix}/sbin\n"
            "[options]\nverbose = 1\n"
        )
        modules = [
            "res_pjproject",
            "res_sorcery_config",
            "res_sorcery_memory",
            "res_sorcery_astdb",
            "res_pjsip",
            "res_pjsip_session",
            "res_pjsip_pubsub",
            "res_pjsip_endpoint_identifier_ip",
            "res_pjsip_endpoint_identifier_user",
            "res_pjsip_caller_id",
            "res_pjsip_sdp_rtp",
            "res_rtp_asterisk",
            "chan_pjsip",
            "app_dial",
            "pbx_config",
            "bridge_simple",
            "bridge_native_rtp",
            "codec_ulaw",
            "func_callerid",
            "app_queue",
        ]
        (etc / "modules.conf").write_text(
            "[modules]\nautoload = no\n" + "".join(f"load => {m}.so\n" for m in modules)
        )
        (etc / "logger.conf").write_text("[logfiles]\nmessages => notice,warning,error\n")
        (etc / "manager.conf").write_text(
            f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {self.ami_port}\n\n"
            f"[{MANAGER_USER}]\nsecret = {MANAGER_SECRET}\n"
            "read = call\nwrite = originate,call,reporting\n"
        )
        phones = "".join(
            f"[{name}]\ntype = endpoint\ncontext = internal\ndisallow = all\nallow = ulaw\n"
            "direct_media = no\n"
            f'aors = {name}\ncallerid = "Phone {name}" <{name}>\n\n'
            f"[{name}]\ntype = aor\ncontact = sip:{name}@127.0.0.1:{port}\n\n"
            for name, port in self.phones.items()
        )
        (etc / "pjsip.conf").write_text(
            f"[udp]\ntype = transport\nprotocol = udp\nbind = 127.0.0.1:{self.sip_port}\n\n"
            "[trunk]\ntype = endpoint\ncontext = from-trunk\ndisallow = all\nallow = ulaw\n"
            "direct_media = no\n\n"
            "[trunk]\ntype = identify\nendpoint = trunk\nmatch = 127.0.0.1\n\n" + phones
        )
        (etc / "queues.conf").write_text(
            "[support]\nstrategy = ringall\ntimeout = 15\nretry = 1\n"
            + "".join(f"member => PJSIP/{name}\n" for name in self.phones)
        )
        (etc / "extensions.conf").write_text(
            "[from-trunk]\n"
            # 600: a ring group of both phones; 800: a queue of both (ring all); 700: 201
            # for three seconds, then the PBX answers itself, as voicemail after no answer.
            "exten => 600,1,Dial(PJSIP/201&PJSIP/202,20)\n same => n,Hangup()\n"
            "exten => 800,1,Queue(support,r)\n same => n,Hangup()\n"
            "exten => 700,1,Dial(PJSIP/201,3)\n same => n,Answer()\n same => n,Wait(1)\n"
            " same => n,Hangup()\n"
            "exten => _X.,1,Dial(PJSIP/201,20)\n same => n,Hangup()\n"
            "exten => _+X.,1,Dial(PJSIP/201,20)\n same => n,Hangup()\n"
            "[internal]\n"
            "exten => 300,1,Dial(Local/300@far-end)\n same => n,Hangup()\n"
            "[far-end]\n"
            "exten => 300,1,Answer()\n same => n,Wait(2)\n same => n,Hangup()\n"
        )

    def start(self) -> Asterisk:
        self.write_config()
        log = (self.directory / "log" / "console.out").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.prefix / "sbin" / "asterisk"),
                "-f",
                "-n",
                "-C",
                str(self.directory / "etc" / "asterisk.conf"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Asterisk exited: {self.console()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.ami_port), timeout=1) as s,
            ):
                if s.recv(64).startswith(b"Asterisk Call Manager/"):
                    # The manager port opens before the dialplan and PJSIP are loaded.
                    self._cli("core waitfullybooted")
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"Asterisk did not open its manager port: {self.console()[-2000:]}")

    def _cli(self, command: str) -> str:
        result = subprocess.run(
            [
                str(self.prefix / "sbin" / "asterisk"),
                "-C",
                str(self.directory / "etc" / "asterisk.conf"),
                "-rx",
                command,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def console(self) -> str:
        path = self.directory / "log" / "console.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """Kill -9, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
