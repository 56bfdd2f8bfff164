"""Asterisk line latency: an AMI event on the wire → its journal entry at a connected stream.

Runs a real Asterisk 22 (built from ../shared/vendor/asterisk by tests/asterisk/build.py, cached)
on 127.0.0.1 with a trunk and one desk phone (SIPp answering 180 and waiting), a real
`offhook serve` with the `asterisk` phone system and a line for extension 201 set up with the
`offhook` commands as the driver's README says, and one live journal stream. SIPp then calls
the trunk at a sustained `--rate` (50 calls/s by default); Asterisk dials PJSIP/201, the phone
rings, the caller gives up after a second.

Measured per call: from the moment the AMI event that makes the call ring on the line (`Newstate`
with `ChannelState: 5` for PJSIP/201) reaches the driver's socket (the kernel's receive time of
the TCP segment that completes the message on `lo`, read from a packet socket: needs root or
CAP_NET_RAW) to the moment the ringing entry of that call (`call_ref` = its Linkedid) arrives
at the stream: the kernel's receive time of the segment that completes its push on the
stream's connection, from the same capture, so that the bench's own Python (its capture
thread, its requests) does not count; the time its reader thread has the entry is printed
too. Baseline from the same run: the round trip of a plain authenticated request to the same
server while the calls run.

    sudo .venv/bin/python bench/asterisk_latency.py [--calls 1000] [--rate 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import sip_latency as sl  # noqa: E402  (bench/, after the path is set; sets tests/sip up too)
from journal_site import JournalClient  # noqa: E402
from peers import Peers  # noqa: E402
from sqlalchemy import select  # noqa: E402

from offhook.store import Store  # noqa: E402
from offhook.store.models import Call  # noqa: E402
from tests.asterisk.build import ensure_built  # noqa: E402
from tests.asterisk.server import MANAGER_SECRET, MANAGER_USER, Asterisk, free_udp_port  # noqa: E402
from tests.livesite import free_port as free_tcp_port  # noqa: E402

_RINGING = re.compile(rb"Event: Newstate\r\n(?:[^\r]*\r\n)*?\r\n")


_PUSH = re.compile(rb"event: call\r?\ndata: ([^\n]*)\n")


@dataclass
class AmiCapture(sl.LoopbackCapture):
    """Kernel receive times of AMI messages from Asterisk to offhook (by Linkedid), and of the
    stream's pushes from offhook to the browser (ringing entries, by call id)."""

    ami_port: int
    http_port: int = 0
    ringing: dict[str, float] = field(default_factory=dict)
    pushed_ringing: dict[int, float] = field(default_factory=dict)
    _buffer: bytearray = field(default_factory=bytearray)
    _http: dict[int, bytearray] = field(default_factory=dict)
    receive_buffer: int = field(default=16 << 20, kw_only=True)  # a busy PBX's events

    def _ports(self) -> tuple[int, int]:
        return self.ami_port, self.http_port or self.ami_port

    def _packet(self, frame: bytes, arrived: float) -> None:
        ip = frame[14:]
        tcp = ip[(ip[0] & 0x0F) * 4 :]
        source, destination = struct.unpack("!HH", tcp[:4])
        if ip[9] != 6:
            return
        if self.http_port and source == self.http_port:
            self._pushed(destination, tcp[(tcp[12] >> 4) * 4 :], arrived)
            return
        if source != self.ami_port:
            return
        self._buffer += tcp[(tcp[12] >> 4) * 4 :]
        end = self._buffer.rfind(b"\r\n\r\n")
        if end < 0:
            return
        complete, self._buffer = bytes(self._buffer[: end + 4]), self._buffer[end + 4 :]
        for block in complete.split(b"\r\n\r\n"):
            if (
                b"Event: Newstate" in block
                and b"Channel: PJSIP/201-" in block
                and b"ChannelState: 5\r" in block + b"\r"
            ):
                found = re.search(rb"Linkedid: (\S+)", block)
                if found:
                    self.ringing.setdefault(found.group(1).decode(), arrived)

    def _pushed(self, connection: int, payload: bytes, arrived: float) -> None:
        """Server-sent events on one connection (chunked: each event is one chunk, so its
        lines are whole); the segment completing a ringing entry's push times it."""
        buffer = self._http.setdefault(connection, bytearray())
        buffer += payload
        end = 0
        for found in _PUSH.finditer(buffer):
            end = found.end()
            entry = json.loads(found.group(1))["entry"]
            if entry["state"] == "ringing":
                self.pushed_ringing.setdefault(entry["id"], arrived)
        del buffer[:end]
        if len(buffer) > 1 << 20:  # not a stream (a page, an API answer): forget it
            buffer.clear()


def run(args: argparse.Namespace, tmp: Path) -> dict[str, list[float]]:
    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    env = {
        **os.environ,
        "OFFHOOK_DATABASE_URL": url,
        "OFFHOOK_DATA_DIR": str(tmp / "data"),
        "OFFHOOK_PASSWORD": sl.PASSWORD,
    }
    phone = free_udp_port()
    asterisk = Asterisk(ensure_built(), tmp / "asterisk", {"201": phone, "202": free_udp_port()})
    peers = Peers(tmp / "peers")
    server: subprocess.Popen[bytes] | None = None
    client: JournalClient | None = None
    capture = AmiCapture(asterisk.ami_port)
    results: dict[str, list[float]] = {}
    try:
        asterisk.start()
        peers.sipp("uas_noanswer", port=phone, service="201", calls=args.calls, timeout=600)
        sl.offhook_cli(env, "users", "add", "anna", "--name", "Anna Keller")
        sl.offhook_cli(env, "extensions", "install", "asterisk")
        sl.offhook_cli(
            env,
            *("lines", "add", "anna", "--driver", "asterisk", "--address", "201"),
            *("-o", f"port={asterisk.ami_port}", "-o", f"username={MANAGER_USER}"),
            *("-o", f"secret={MANAGER_SECRET}"),
        )
        token = sl.offhook_cli(env, "tokens", "create", "anna").strip()
        port = free_tcp_port()
        capture.http_port = port
        base = f"http://127.0.0.1:{port}"
        with open(tmp / "serve.log", "wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "offhook", "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        sl.wait_for_server(base)
        client = JournalClient(token)
        client.connect(base)
        client.wait(lambda: client.journal()["lines"][0]["state"] == "connected", "the line", 30)
        capture.start()
        print(f"{args.calls} calls at {args.rate:g}/s through Asterisk …", flush=True)
        caller = peers.sipp(
            "uac_cancel",
            f"127.0.0.1:{asterisk.sip_port}",
            service="+41446681800",
            cid_from=sl.HANS,
            pause_ms=1000,
            calls=args.calls,
            rate=args.rate,
            at_once=int(args.rate * 4),
            timeout=args.calls / args.rate * 4 + 60,
        )
        plain: list[float] = []
        while not caller.finished():
            plain.append(sl.plain_round_trip(client))
            time.sleep(0.05)
        client.wait(
            lambda: sl.ended_count(client, "incoming") >= args.calls * 0.95, "the calls", 120
        )
        store = Store(url)
        with store.session() as session:
            ids = {ref: id_ for ref, id_ in session.execute(select(Call.call_ref, Call.id))}
        store.dispose()
        ringing = sl.first_push(client, "ringing")
        results["ami_entry"] = [
            capture.pushed_ringing[ids[ref]] - at
            for ref, at in capture.ringing.items()
            if ref in ids and ids[ref] in capture.pushed_ringing
        ]
        results["ami_reader"] = [
            ringing[ids[ref]] - at
            for ref, at in capture.ringing.items()
            if ref in ids and ids[ref] in ringing
        ]
        results["plain"] = plain
        results["calls"] = [float(len(ids))]
    finally:
        capture.stop()
        if server is not None:
            server.terminate()
            server.wait(15)
        if client is not None:
            client.close()
        peers.close()
        asterisk.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50, help="new calls per second")
    args = parser.parse_args()
    results = run(args, Path(tempfile.mkdtemp(prefix="offhook-asterisk-bench-")))
    ms = 1000.0
    print(
        f"\nasterisk line latency, {args.calls} calls at {args.rate:g}/s "
        f"({int(results['calls'][0])} journaled), SQLite, {os.cpu_count()} CPUs, one stream"
    )
    print(f"{'':58}{'n':>5}{'p50':>9}{'p99':>9}{'max':>9}")
    for label, key in (
        ("AMI Newstate(Ringing) on the wire → ringing entry (ms)", "ami_entry"),
        ("  the same, until the bench's reader has it (ms)", "ami_reader"),
        ("  baseline: plain API round trip, meanwhile (ms)", "plain"),
    ):
        values = results[key]
        print(
            f"{label:58}{len(values):5d}{sl.percentile(values, 0.5) * ms:9.2f}"
            f"{sl.percentile(values, 0.99) * ms:9.2f}{max(values) * ms:9.2f}"
        )
    # Where the tail is: the slowest calls by their place in the run (warm-up, a stall, the
    # machine), and the median and worst of each hundred.
    latencies = results["ami_entry"]
    slowest = sorted(range(len(latencies)), key=lambda i: -latencies[i])[:5]
    print("slowest calls (#: ms):", ", ".join(f"{i}: {latencies[i] * ms:.0f}" for i in slowest))
    print(
        "per hundred calls, p50/max (ms):",
        "  ".join(
            f"{sl.percentile(part, 0.5) * ms:.0f}/{max(part) * ms:.0f}"
            for part in (latencies[i : i + 100] for i in range(0, len(latencies), 100))
        ),
    )
    p99 = sl.percentile(results["ami_entry"], 0.99)
    print(f"p99 {p99 * ms:.1f} ms (target ≤ 50 ms: {'met' if p99 <= 0.05 else 'NOT met'})")


if __name__ == "__main__":
    main()
