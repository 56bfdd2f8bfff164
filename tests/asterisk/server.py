"""A real Asterisk (built by `build.py`) on 127.0.0.1, configured for one test under tmp.

Unprivileged ports only, its own configuration, spool and log folders; PJSIP with a UDP
transport, a trunk identified by address (SIPp callers) and phones with static contacts (SIPp
answerers), AMI with one user (least permissions, as the driver's README asks).
"""

from __future__ import annotations

import asyncio
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
    #: The AMI user's write rights (the driver's README asks for these three).
    manager_write: str = "originate,call,reporting"
    #: More dialplan for the trunk's context (from-trunk), e.g. a test's own extension.
    trunk_dialplan: str = ""

    def write_config(self) -> None:
        etc = self.directory / "etc"
        for sub in ("etc", "lib", "spool", "run", "log", "data/sounds/en"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        # The build's data folder, plus the prompts the flows under test cannot do without
        # (the build has no sound packs; a missing one aborts the application): voicemail's
        # beep and attended transfer's "transfer", each a fifth of a second of μ-law silence.
        for entry in (self.prefix / "var" / "lib" / "asterisk").iterdir():
            link = self.directory / "data" / entry.name
            if entry.name != "sounds" and not link.exists():
                link.symlink_to(entry)
        for prompt in ("beep", "pbx-transfer"):
            (self.directory / "data" / "sounds" / "en" / f"{prompt}.ulaw").write_bytes(
                b"\xff" * 1600
            )
        d = self.directory
        (etc / "asterisk.conf").write_text(
            "[directories]\n"
            f"astetcdir => {etc}\nastmoddir => {self.prefix}/lib/asterisk/modules\n"
            f"astvarlibdir => {d}/lib\nastdbdir => {d}/lib\nastkeydir => {d}/lib\n"
            f"astdatadir => {d}/data\nastagidir => {d}/lib\n"
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
            # Pickup, attended transfer's DTMF feature, voicemail and what it records to.
            "app_directed_pickup",
            "bridge_builtin_features",
            "res_adsi",
            "res_smdi",
            "format_wav",
            "format_pcm",
            "app_voicemail",
            "res_timing_timerfd",
            # A phone's own transfer key: blind transfer by SIP REFER.
            "res_pjsip_refer",
            # The caller-name lookup the driver's README has the dialplan make: CURL(),
            # URIENCODE(), ExecIf().
            "res_curl",
            "func_curl",
            "func_uri",
            "app_exec",
        ]
        (etc / "modules.conf").write_text(
            "[modules]\nautoload = no\n" + "".join(f"load => {m}.so\n" for m in modules)
        )
        (etc / "logger.conf").write_text("[logfiles]\nmessages => notice,warning,error\n")
        (etc / "manager.conf").write_text(
            f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {self.ami_port}\n\n"
            f"[{MANAGER_USER}]\nsecret = {MANAGER_SECRET}\n"
            f"read = call\nwrite = {self.manager_write}\n"
        )
        phones = "".join(
            f"[{name}]\ntype = endpoint\ncontext = internal\ndisallow = all\nallow = ulaw\n"
            "direct_media = no\nidentify_by = username\nsend_connected_line = no\n"
            "call_group = 1\npickup_group = 1\n"
            f'aors = {name}\ncallerid = "Phone {name}" <{name}>\n\n'
            f"[{name}]\ntype = aor\ncontact = sip:{name}@127.0.0.1:{port}\n\n"
            for name, port in self.phones.items()
        )
        (etc / "pjsip.conf").write_text(
            # A phone's own calls (SIPp from 127.0.0.1 as user 201) are known by the From
            # user before the address that identifies the trunk.
            "[global]\ntype = global\nendpoint_identifier_order = username,ip\n\n"
            f"[udp]\ntype = transport\nprotocol = udp\nbind = 127.0.0.1:{self.sip_port}\n\n"
            # No connected-line re-INVITEs: SIPp's scripted peers would take them for errors.
            "[trunk]\ntype = endpoint\ncontext = from-trunk\ndisallow = all\nallow = ulaw\n"
            "direct_media = no\nsend_connected_line = no\n\n"
            "[trunk]\ntype = identify\nendpoint = trunk\nmatch = 127.0.0.1\n\n" + phones
        )
        (etc / "queues.conf").write_text(
            "[support]\nstrategy = ringall\ntimeout = 15\nretry = 1\n"
            + "".join(f"member => PJSIP/{name}\n" for name in self.phones)
        )
        # Attended transfer plays tones while it collects the target: with neither a tone
        # zone nor a timing module Asterisk 22 crashed there (a segfault right after Atxfer).
        (etc / "indications.conf").write_text(
            "[general]\ncountry = us\n[us]\ndescription = United States\n"
            "ringcadence = 2000,4000\ndial = 350+440\nbusy = 480+620/500,0/500\n"
            "ring = 440+480/2000,0/4000\ncongestion = 480+620/250,0/250\n"
            "callwaiting = 440/300,0/10000\nrecord = 1400/500,0/15000\n"
        )
        # *8 picks up any phone of the group that rings (FreePBX's default code).
        (etc / "features.conf").write_text(
            "[general]\npickupexten = *8\n[featuremap]\natxfer => *2\n"
        )
        (etc / "voicemail.conf").write_text(
            "[general]\nformat = wav\nmaxsilence = 10\n[default]\n"
            + "".join(f"{name} => 1234,Phone {name}\n" for name in self.phones)
        )
        (etc / "extensions.conf").write_text(
            "[from-trunk]\n"
            # 600: a ring group of both phones; 800: a queue of both (ring all); 700: 201
            # for three seconds, then the PBX answers itself, as voicemail after no answer.
            "exten => 600,1,Dial(PJSIP/201&PJSIP/202,20)\n same => n,Hangup()\n"
            "exten => 800,1,Queue(support,r)\n same => n,Hangup()\n"
            "exten => 700,1,Dial(PJSIP/201,3)\n same => n,Answer()\n same => n,Wait(1)\n"
            " same => n,Hangup()\n"
            # 710: 201 for three seconds, then its voicemail (app_voicemail, as FreePBX).
            "exten => 710,1,Dial(PJSIP/201,3)\n same => n,VoiceMail(201@default,s)\n"
            " same => n,Hangup()\n"
            # 610: a ring group as FreePBX dials it, through Local channels per member.
            "exten => 610,1,Dial(Local/201@from-internal&Local/202@from-internal,20)\n"
            " same => n,Hangup()\n"
            # 900: 201 with the transfer features (FreePBX dials with tT too).
            "exten => 900,1,Dial(PJSIP/201,30,tT)\n same => n,Hangup()\n"
            + self.trunk_dialplan
            + "exten => _X.,1,Dial(PJSIP/201,20)\n same => n,Hangup()\n"
            "exten => _+X.,1,Dial(PJSIP/201,20)\n same => n,Hangup()\n"
            "[internal]\n"
            "exten => 300,1,Dial(Local/300@far-end)\n same => n,Hangup()\n"
            # Phones call each other; *8 and an extension pick up that phone's ringing call.
            "exten => _2XX,1,Dial(PJSIP/${EXTEN},20,tT)\n same => n,Hangup()\n"
            "exten => _*82XX,1,PickupChan(PJSIP/${EXTEN:2})\n same => n,Hangup()\n"
            "[from-internal]\n"
            "exten => _2XX,1,Dial(PJSIP/${EXTEN},20)\n same => n,Hangup()\n"
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

    def channels(self, prefix: str) -> list[str]:
        """The live channels whose name starts with `prefix` (e.g. `PJSIP/201-`)."""
        listing = self._cli("core show channels concise")
        return [line.split("!", 1)[0] for line in listing.splitlines() if line.startswith(prefix)]

    async def action(self, **fields: str) -> dict[str, str]:
        """One AMI action on a connection of its own, as another AMI client (an operator
        panel, a phone's transfer key) would send it; returns Asterisk's response."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ami_port)
        try:
            await reader.readline()  # the banner
            responses = []
            for message in (
                {"Action": "Login", "Username": MANAGER_USER, "Secret": MANAGER_SECRET},
                {**fields, "ActionID": "test-1"},
            ):
                writer.write("".join(f"{k}: {v}\r\n" for k, v in message.items()).encode())
                writer.write(b"\r\n")
                await writer.drain()
                while True:
                    block = (await reader.readuntil(b"\r\n\r\n")).decode()
                    parsed = dict(
                        line.split(": ", 1) for line in block.split("\r\n") if ": " in line
                    )
                    if "Response" in parsed:
                        responses.append(parsed)
                        break
            return responses[-1]
        finally:
            writer.close()

    def restart(self) -> None:
        """`core restart now`, as an administrator does: Asterisk hangs up every call, sends
        AMI's Shutdown event, and starts again in the same process (FullyBooted once up)."""
        self._cli("core restart now")

    def wait_fully_booted(self) -> None:
        """Until the restarted Asterisk answers on its console and has finished booting."""
        deadline = time.monotonic() + 60
        while True:
            try:
                self._cli("core waitfullybooted")
                return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

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
