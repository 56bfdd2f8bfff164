"""SIP line latency: a call reaching baresip → its journal entry at a connected browser stream.

Sets up a sip line the way `offhook/drivers/sip/README.md` says (attach mode: `offhook
extensions install sip`, `offhook lines add … -o ctrl_port=… -o dial_uri_template=…`), runs a
real `offhook serve` (its own process, on 127.0.0.1) and a baresip on loopback, connects one live
journal stream (`GET /api/journal/stream`, server-sent events) and measures two paths:

- **incoming**: SIPp places `--calls` calls to baresip, one at a time (each rings briefly, then
  the caller gives up). Measured: from the moment the INVITE packet reaches baresip's SIP port
  to the moment the ringing entry for that call arrives at the stream.
- **dial**: the bench clicks "call" `--calls` times (`POST /api/dial`; a SIPp callee answers
  486 Busy). Measured: from sending the request to the "dialling" entry arriving at the stream.

When the INVITE reaches baresip: the kernel's receive timestamp of the packet on the loopback
interface, read from a packet socket (what tcpdump does; needs root or CAP_NET_RAW). It is taken
when the packet arrives, before baresip reads it, on the same clock as the stream's arrival times
(`time.time()`), so neither SIPp's send time nor baresip's log time (both later or earlier by
their own delays) stand in for it. The INVITE is tied to its journal entry by its Call-ID, which
is baresip's call id and the call's `call_ref` in the store.

Baselines from the same run, printed beside:

- INVITE → baresip's `180 Ringing` (the same capture): how long baresip itself takes to react
  to the INVITE; it reports the call on its control port at that point. offhook's share of
  the incoming path is what lies above it.
- the round trip of a plain authenticated request (`GET /api/preferences/journal-panel`) to the
  same server: the floor under any HTTP action and push.

    sudo .venv/bin/python bench/sip_latency.py [--calls 200] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "sip")]

from journal_site import JournalClient  # noqa: E402  (tests/sip, after the path is set)
from peers import LOOPBACK, Peers, free_port  # noqa: E402

from offhook.store import Store  # noqa: E402
from offhook.store.models import Call  # noqa: E402
from tests import factories  # noqa: E402
from tests.livesite import free_port as free_tcp_port  # noqa: E402

PG = "postgresql://127.0.0.1:5432"
PASSWORD = "bench-password-1"
HANS = '"Hans Muster" <sip:+41441234567@127.0.0.1>'

# Linux constants the socket module does not name.
ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
PACKET_HOST = 0  # the copy of a loopback packet that is being received (not the one sent)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def port_filter(a: int, b: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF: IPv4 UDP or TCP packets from or to port `a` or `b` (as `tcpdump -dd`
    would compile it), so the capture thread sees nothing else of the loopback traffic."""
    return [
        (0x28, 0, 0, 12),  # ldh [12]: ethertype
        (0x15, 0, 13, ETH_P_IP),  # IPv4, else drop
        (0x30, 0, 0, 23),  # ldb [23]: protocol
        (0x15, 1, 0, 17),  # UDP
        (0x15, 0, 10, 6),  # or TCP, else drop
        (0x28, 0, 0, 20),  # ldh [20]: fragment offset
        (0x45, 8, 0, 0x1FFF),  # a later fragment: drop
        (0xB1, 0, 0, 14),  # ldxb 4*([14]&0xf): IP header length
        (0x48, 0, 0, 14),  # ldh [x+14]: source port
        (0x15, 4, 0, a),  # accept
        (0x15, 3, 0, b),  # accept
        (0x48, 0, 0, 16),  # ldh [x+16]: destination port
        (0x15, 1, 0, a),  # accept
        (0x15, 0, 1, b),  # accept, else drop
        (0x06, 0, 0, 0x40000),  # accept
        (0x06, 0, 0, 0),  # drop
    ]


@dataclass(kw_only=True)
class LoopbackCapture:
    """Kernel receive times of the packets on the loopback interface to or from two ports
    (`_ports`); a subclass reads each frame in `_packet`."""

    receive_buffer: int = 4 << 20
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _ports(self) -> tuple[int, int]:
        raise NotImplementedError

    def _packet(self, frame: bytes, arrived: float) -> None:
        raise NotImplementedError

    def start(self) -> None:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        except PermissionError:
            raise SystemExit(
                "timestamping packets on the loopback interface needs root or CAP_NET_RAW: "
                "run it with sudo"
            ) from None
        program = port_filter(*self._ports())
        code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))
        sock.setsockopt(
            socket.SOL_SOCKET,
            SO_ATTACH_FILTER,
            struct.pack("HL", len(program), ctypes.addressof(code)),
        )
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        sock.bind(("lo", ETH_P_IP))
        sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def _run(self, sock: socket.socket) -> None:
        with sock:
            while not self._stop.is_set():
                try:
                    data, ancillary, _flags, address = sock.recvmsg(65535, 256)
                except TimeoutError:
                    continue
                if address[2] != PACKET_HOST:
                    continue  # loopback shows each packet twice: leaving and arriving
                arrived = next(
                    (
                        sec + nsec / 1e9
                        for level, kind, raw in ancillary
                        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS
                        for sec, nsec in [struct.unpack("qq", raw[:16])]
                    ),
                    None,
                )
                if arrived is not None:
                    self._packet(data, arrived)


@dataclass
class Capture(LoopbackCapture):
    """Kernel receive times, on the loopback interface, of baresip's SIP packets (UDP
    `sip_port`) and of its control connection (TCP `ctrl_port`)."""

    sip_port: int
    ctrl_port: int
    invites: dict[str, float] = field(default_factory=dict)  # Call-ID → first INVITE
    ringing: dict[str, float] = field(default_factory=dict)  # Call-ID → baresip's first 180
    #: Call-ID → CALL_INCOMING on its way from baresip to offhook (the control connection)
    incoming_events: dict[str, float] = field(default_factory=dict)

    def _ports(self) -> tuple[int, int]:
        return self.sip_port, self.ctrl_port

    def _packet(self, frame: bytes, arrived: float) -> None:
        ip = frame[14:]
        transport = ip[(ip[0] & 0x0F) * 4 :]
        source, destination = struct.unpack("!HH", transport[:4])
        if ip[9] == 6:  # TCP: the control connection
            if source == self.ctrl_port:
                self._control(transport[(transport[12] >> 4) * 4 :], arrived)
            return
        payload = transport[8:]
        found = re.search(rb"\r\n(?:Call-ID|i)\s*:\s*(\S+)", payload, re.IGNORECASE)
        if found is None:
            return
        call_id = found.group(1).decode(errors="replace")
        if destination == self.sip_port and payload.startswith(b"INVITE "):
            self.invites.setdefault(call_id, arrived)  # a retransmission is not the arrival
        elif source == self.sip_port and payload.startswith(b"SIP/2.0 180 "):
            self.ringing.setdefault(call_id, arrived)

    def _control(self, payload: bytes, arrived: float) -> None:
        # baresip writes each event as one small netstring: it does not span segments here.
        for event in re.finditer(rb'\{"event":true[^{}]*\}', payload):
            if b'"type":"CALL_INCOMING"' in event.group():
                found = re.search(rb'"id":"([^"]+)"', event.group())
                if found:
                    self.incoming_events.setdefault(found.group(1).decode(), arrived)


def offhook_cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "offhook", *args], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"offhook {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout


def wait_for_server(base: str) -> None:
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit("offhook serve did not start")


def plain_round_trip(client: JournalClient) -> float:
    started = time.time()
    client.http.get("/api/preferences/journal-panel").raise_for_status()
    return time.time() - started


def first_push(client: JournalClient, state: str) -> dict[int, float]:
    """When each call's entry first arrived at the stream in `state`."""
    arrivals: dict[int, float] = {}
    for pushed in client.pushed:
        if pushed.kind == "call" and pushed.data["entry"]["state"] == state:
            arrivals.setdefault(pushed.data["entry"]["id"], pushed.at)
    return arrivals


def ended_count(client: JournalClient, direction: str) -> int:
    return sum(
        e["state"] == "ended" and e["direction"] == direction for e in client.entries().values()
    )


def at_least(client: JournalClient, direction: str, count: int) -> bool:
    return ended_count(client, direction) >= count


def run(args: argparse.Namespace, tmp: Path, url: str) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    env = {
        **os.environ,
        "OFFHOOK_DATABASE_URL": url,
        "OFFHOOK_DATA_DIR": str(tmp / "data"),
        "OFFHOOK_PASSWORD": PASSWORD,
    }
    peers = Peers(tmp / "peers")
    server: subprocess.Popen[bytes] | None = None
    client: JournalClient | None = None
    capture: Capture | None = None
    try:
        baresip = peers.baresip("alice")
        trunk = free_port()
        # The line as the README sets it up (attach mode, dialled numbers to a SIPp "PBX").
        offhook_cli(env, "users", "add", "anna", "--name", "Anna Keller")
        offhook_cli(env, "extensions", "install", "sip")
        offhook_cli(
            env,
            *("lines", "add", "anna", "--driver", "sip", "--address", baresip.aor),
            *("-o", f"ctrl_port={baresip.ctrl_port}"),
            *("-o", f"dial_uri_template=sip:{{number}}@{LOOPBACK}:{trunk}"),
        )
        token = offhook_cli(env, "tokens", "create", "anna").strip()
        store = Store(url)
        factories.address(  # so every call is looked up and found, as in a real journal
            store, first="Hans", last="Muster", numbers=(("phone", "+41 44 123 45 67"),)
        )
        store.dispose()

        port = free_tcp_port()
        base = f"http://127.0.0.1:{port}"
        with open(tmp / "serve.log", "wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "offhook", "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_server(base)
        client = JournalClient(token)
        client.connect(base)
        client.wait(lambda: client.journal()["lines"][0]["state"] == "connected", "the line", 20)
        capture = Capture(baresip.sip_port, baresip.ctrl_port)
        capture.start()

        print(f"incoming: {args.calls} calls from SIPp …", flush=True)
        caller = peers.sipp(
            "uac_cancel",
            baresip.contact,
            cid_from=HANS,
            pause_ms=20,
            calls=args.calls,
            rate=args.rate,
            at_once=1,
            timeout=args.calls / args.rate * 4 + 30,
        )
        plain: list[float] = []
        while not caller.finished():
            plain.append(plain_round_trip(client))
            time.sleep(0.05)
        if caller.wait() != 0:
            raise SystemExit(f"SIPp failed: {caller.errors()[-2000:]}")
        client.wait(
            lambda: ended_count(client, "incoming") >= args.calls, "every incoming call", 60
        )
        store = Store(url)
        with store.session() as session:
            call_ids = {ref: id_ for ref, id_ in session.execute(select(Call.call_ref, Call.id))}
        store.dispose()
        ringing = first_push(client, "ringing")
        results["incoming"] = [
            ringing[call_ids[ref]] - at
            for ref, at in capture.invites.items()
            if ref in call_ids and call_ids[ref] in ringing
        ]
        results["invite_180"] = [
            capture.ringing[ref] - at
            for ref, at in capture.invites.items()
            if ref in capture.ringing
        ]
        results["invite_event"] = [
            capture.incoming_events[ref] - at
            for ref, at in capture.invites.items()
            if ref in capture.incoming_events
        ]
        results["event_entry"] = [
            ringing[call_ids[ref]] - at
            for ref, at in capture.incoming_events.items()
            if ref in call_ids and call_ids[ref] in ringing
        ]
        results["plain_incoming"] = plain

        print(f"dial: {args.calls} clicks to call …", flush=True)
        callee = peers.sipp("uas_busy", port=trunk, calls=args.calls, timeout=args.calls + 30)
        sent: dict[int, float] = {}
        plain = []
        for n in range(1, args.calls + 1):
            before = time.time()
            call_id = client.dial("044 123 45 67")
            sent[call_id] = before
            done = functools.partial(at_least, client, "outgoing", n)
            client.wait(done, f"dialled call {n} to end", 30)
            plain.append(plain_round_trip(client))
        dialling = first_push(client, "dialling")
        results["dial"] = [dialling[call_id] - at for call_id, at in sent.items()]
        results["plain_dial"] = plain
        if callee.wait(30) != 0:
            raise SystemExit(f"SIPp callee failed: {callee.errors()[-2000:]}")
    finally:
        if capture is not None:
            capture.stop()
        if server is not None:
            server.terminate()  # ends the live stream too
            server.wait(15)
        if client is not None:
            client.close()
        peers.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls each way (default 200)")
    parser.add_argument("--rate", type=float, default=20, help="incoming calls per second")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="offhook-sip-bench-"))
    database = None
    if args.db == "postgres":
        database = f"offhook_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG}/test", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        url = f"postgresql+psycopg://127.0.0.1:5432/{database}"
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
    try:
        results = run(args, tmp, url)
    finally:
        if database:
            with psycopg.connect(f"{PG}/test", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    ms = 1000.0
    print(
        f"\nsip line latency, {args.calls} calls each way, store: {args.db}, "
        f"{os.cpu_count()} CPUs, one connected journal stream"
    )
    print(f"{'':58}{'n':>5}{'p50':>9}{'p99':>9}{'max':>9}")
    rows = (
        ("incoming: INVITE reaches baresip → ringing entry (ms)", "incoming"),
        ("  of it offhook's: CALL_INCOMING sent → entry (ms)", "event_entry"),
        ("  baseline: INVITE → baresip's 180 Ringing (ms)", "invite_180"),
        ("  baseline: INVITE → baresip sends CALL_INCOMING (ms)", "invite_event"),
        ("  baseline: plain API round trip, meanwhile (ms)", "plain_incoming"),
        ("dial: POST /api/dial sent → dialling entry (ms)", "dial"),
        ("  baseline: plain API round trip, meanwhile (ms)", "plain_dial"),
    )
    for label, key in rows:
        values = results[key]
        print(
            f"{label:58}{len(values):5d}{percentile(values, 0.5) * ms:9.2f}"
            f"{percentile(values, 0.99) * ms:9.2f}{max(values) * ms:9.2f}"
        )
    for key, baseline in (("incoming", "invite_180"), ("dial", "plain_dial")):
        p99 = percentile(results[key], 0.99)
        verdict = "met" if p99 <= 0.050 else "NOT met"
        print(
            f"{key}: p99 {p99 * ms:.1f} ms, {p99 / percentile(results[baseline], 0.99):.1f}× its "
            f"baseline's p99 (target p99 ≤ 50 ms: {verdict})"
        )


if __name__ == "__main__":
    main()
