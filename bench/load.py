"""Load on real servers: call events per second, thousands of live journals, push latency and
memory over time, next to baselines measured in the same run.

Seeds a store with one user per journal stream, each with a line on one simulated phone system
that places calls by itself at the asked rate (each call rings 1 s, then three in four are
answered and last 2 s, the others are missed: 2.75 call events a call on average). Starts
`offhook serve` (one, or several on PostgreSQL with Redis), opens the streams, spread over the
servers, then switches the phone system on and, for `--seconds`, measures:

- push latency: from the event's own time (the `at` the driver gave it, in the entry) to its
  arrival on the stream of the call's user, for every entry that arrives;
- call events recorded per second (counted in the store) and delivered per second;
- each server's resident memory every 5 s;
- baselines of the same run: a plain authenticated request (`GET /api/preferences/journal-panel`)
  every 100 ms during the load, and before it the database's raw insert rate on the same server
  (one row per transaction, and 250 rows per transaction as the recorder batches).

Bounded: at most 900 s, 5,000 streams, 5,000 events/s, and only 127.0.0.1.

    .venv/bin/python bench/load.py --db sqlite   --streams 2000 --rate 1000 --seconds 60
    .venv/bin/python bench/load.py --db postgres --streams 2000 --rate 1000 --seconds 60
    .venv/bin/python bench/load.py --db postgres --servers 3 --streams 2000 --rate 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user, create_token
from offhook.store import Store
from offhook.store.models import CallEventRecord, User
from tests.livesite import free_port

PG = "postgresql://127.0.0.1:5432"
HOST = "127.0.0.1"
EVENTS_PER_CALL = 0.75 * 3 + 0.25 * 2  # the simulator's mix: answered, or missed
MAX_SECONDS, MAX_STREAMS, MAX_RATE = 900, 5000, 5000


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --- the store --------------------------------------------------------------------------------


def seed(url: str, users: int, rate: float) -> tuple[list[str], str, int]:
    """Users with a line each on one simulated phone system, switched off until the load starts.
    Returns the users' API tokens, an admin's, and the phone system's id."""
    store = Store(url)
    store.migrate()
    tokens = []
    with store.session() as session:
        install_driver(session, "simulator", auto_load=True)
        options = {
            "call_every": EVENTS_PER_CALL / rate,
            "callers": [f"+41446681{n:03d}" for n in range(200)],
            "ring_seconds": 1.0,
            "talk_seconds": 2.0,
        }
        pbx = add_phone_system(session, "simulator", "load PBX", options)
        pbx.enabled = False
        admin = add_user(session, "loadadmin", "Load Admin", "bench-password-1", "admin")
        admin_token = create_token(session, admin, "load")
        for n in range(users):
            # One password hash for all: hashing is slow on purpose, and logins are not timed.
            user = User(login=f"user{n}", name=f"User {n}", password_hash=admin.password_hash)
            session.add(user)
            session.flush()
            add_line(session, user, pbx, str(1000 + n))
            tokens.append(create_token(session, user, "load"))
        session.flush()
        system_id = pbx.id
    store.dispose()
    return tokens, admin_token, system_id


def raw_insert_rates(url: str, seconds: float = 2.0) -> tuple[float, float]:
    """Rows per second the database takes: one per transaction, and 250 per transaction."""
    store = Store(url)
    rates = []
    with store.engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, v TEXT)")
        connection.commit()
        n = 0
        for per_commit in (1, 250):
            started = time.perf_counter()
            rows = 0
            while time.perf_counter() - started < seconds:
                for _ in range(per_commit):
                    n += 1
                    connection.exec_driver_sql(
                        "INSERT INTO bench_raw (id, v) VALUES (%s, 'x')"
                        if store.dialect == "postgresql"
                        else "INSERT INTO bench_raw (id, v) VALUES (?, 'x')",
                        (n,),
                    )
                connection.commit()
                rows += per_commit
            rates.append(rows / (time.perf_counter() - started))
        connection.exec_driver_sql("DROP TABLE bench_raw")
        connection.commit()
    store.dispose()
    return rates[0], rates[1]


def recorded_events(url: str) -> int:
    store = Store(url)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(CallEventRecord)) or 0
    store.dispose()
    return count


# --- the servers --------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    memory: list[float] = field(default_factory=list)


def start_servers(
    count: int, url: str, redis_url: str, directory: Path, streams: int
) -> list[Server]:
    servers = []
    for n in range(count):
        port = free_port()
        env = {**os.environ, "OFFHOOK_DATABASE_URL": url, "OFFHOOK_DATA_DIR": str(directory)}
        # Room for every stream, the plain requests and the admin's beside them.
        env["OFFHOOK_MAX_CONNECTIONS"] = str(streams + 100)
        if redis_url:
            env["OFFHOOK_REDIS_URL"] = redis_url
        with (directory / f"server{n}.log").open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "offhook", "serve", "--host", HOST, "--port", str(port)],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        servers.append(Server(f"http://{HOST}:{port}", process))
    for server in servers:
        deadline = time.monotonic() + 60
        while True:
            if server.process.poll() is not None:
                raise SystemExit(f"a server exited; see {directory}")
            try:
                httpx.get(f"{server.url}/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("a server did not start within 60 s") from None
                time.sleep(0.1)
    return servers


# --- the journals ---------------------------------------------------------------------------------


@dataclass
class Tally:
    opened: int = 0
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    measuring: bool = False
    errors: list[str] = field(default_factory=list)
    all_open: asyncio.Event = field(default_factory=asyncio.Event)
    wanted: int = 0

    def settled(self) -> None:
        """One more stream is open, or failed to open."""
        if self.opened + len(self.errors) >= self.wanted:
            self.all_open.set()


def _event_time(entry: dict[str, object]) -> float:
    stamps = [entry.get(k) for k in ("started_at", "connected_at", "ended_at")]
    return max(datetime.fromisoformat(s).timestamp() for s in stamps if isinstance(s, str))


async def journal_stream(port: int, token: str, tally: Tally, slow: bool) -> None:
    """One browser's live journal, on a bare socket: the client must cost little next to the
    server it measures."""
    try:
        reader, writer = await asyncio.open_connection(HOST, port, limit=2**22)
    except OSError as exc:
        tally.errors.append(f"connect: {exc}")
        tally.settled()
        return
    writer.write(
        (
            f"GET /api/journal/stream HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    try:
        status = await reader.readline()
        if b" 200 " not in status:
            tally.errors.append(status.decode(errors="replace").strip())
            tally.settled()
            return
        kind = ""
        opened = False
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"event: "):
                kind = line[7:].strip().decode()
            elif line.startswith(b"data: "):
                if kind == "snapshot" and not opened:
                    opened = True
                    tally.opened += 1
                    tally.settled()
                    if slow:
                        # A browser that stops reading (a frozen tab, a dead link): the server
                        # must drop it without the others noticing.
                        await asyncio.sleep(MAX_SECONDS)
                elif kind == "call" and tally.measuring:
                    arrived = time.time()
                    entry = json.loads(line[6:])["entry"]
                    tally.latencies.append(arrived - _event_time(entry))
                    tally.delivered += 1
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        tally.errors.append(f"stream: {exc!r}")
    finally:
        writer.close()


async def plain_requests(base: str, token: str, stop: asyncio.Event, times: list[float]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get("/api/preferences/journal-panel")
            times.append(time.perf_counter() - started)
            response.raise_for_status()
            await asyncio.sleep(0.1)


async def sample_memory(servers: list[Server], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for server in servers:
            server.memory.append(rss_mb(server.process.pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5)


@dataclass
class Figures:
    open_seconds: float = 0.0
    events_per_second: float = 0.0
    delivered_per_second: float = 0.0
    plain: list[float] = field(default_factory=list)


async def run_load(
    servers: list[Server],
    tokens: list[str],
    admin: str,
    system_id: int,
    url: str,
    args: argparse.Namespace,
) -> tuple[Figures, Tally]:
    tally = Tally(wanted=len(tokens))
    figures = Figures()
    ports = [int(server.url.rsplit(":", 1)[1]) for server in servers]
    slow = set(range(0, len(tokens), max(1, len(tokens) // args.slow))) if args.slow else set()
    started = time.perf_counter()
    streams = [
        asyncio.create_task(journal_stream(ports[n % len(ports)], token, tally, n in slow))
        for n, token in enumerate(tokens)
    ]
    try:
        await asyncio.wait_for(tally.all_open.wait(), 120)
    except TimeoutError:
        print(f"only {tally.opened} of {len(tokens)} streams opened in 120 s; {tally.errors[:3]}")
    figures.open_seconds = time.perf_counter() - started

    async with httpx.AsyncClient(
        base_url=servers[0].url, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    ) as client:
        response = await client.post(f"/settings/phone-systems/{system_id}/enable")
        assert response.status_code < 400, response.text
    await asyncio.sleep(3)  # past the first calls' start
    stop = asyncio.Event()
    helpers = [
        asyncio.create_task(plain_requests(servers[0].url, tokens[-1], stop, figures.plain)),
        asyncio.create_task(sample_memory(servers, stop)),
    ]
    before = await asyncio.to_thread(recorded_events, url)
    tally.measuring = True
    measured_from = time.perf_counter()
    await asyncio.sleep(args.seconds)
    tally.measuring = False
    elapsed = time.perf_counter() - measured_from
    after = await asyncio.to_thread(recorded_events, url)
    stop.set()
    await asyncio.gather(*helpers)
    figures.events_per_second = (after - before) / elapsed
    figures.delivered_per_second = tally.delivered / elapsed
    for task in streams:
        task.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    return figures, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1000.0, help="call events per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--slow", type=int, default=0, help="streams that stop reading")
    parser.add_argument("--redis", default="", help="Redis URL (default: one of its own)")
    args = parser.parse_args()
    if args.servers > 1 and args.db != "postgres":
        parser.error("several servers need PostgreSQL (SQLite is for one server)")
    args.seconds = min(args.seconds, MAX_SECONDS)
    args.streams = min(args.streams, MAX_STREAMS)
    args.rate = min(args.rate, MAX_RATE)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it too
    if hard < 2 * args.streams + 200:
        print(f"warning: only {hard} open files allowed; streams may fail")

    tmp = Path(tempfile.mkdtemp(prefix="offhook-load-"))
    database = None
    redis_process = None
    redis_url = args.redis
    if args.db == "postgres":
        database = f"offhook_load_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG}/test", autocommit=True) as admin_connection:
            admin_connection.execute(f'CREATE DATABASE "{database}"')
        url = f"postgresql+psycopg://{HOST}:5432/{database}"
    else:
        url = f"sqlite:///{tmp / 'load.sqlite'}"
    if args.servers > 1 and not redis_url:
        port = free_port()
        redis_process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", HOST, "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        redis_url = f"redis://{HOST}:{port}/0"
    servers: list[Server] = []
    try:
        print(f"seeding {args.streams} users with a line each ({args.db}) …", flush=True)
        tokens, admin, system_id = seed(url, args.streams, args.rate)
        one_per_commit, batched = raw_insert_rates(url)
        servers = start_servers(args.servers, url, redis_url, tmp, args.streams)
        time.sleep(1)
        idle = [rss_mb(server.process.pid) for server in servers]
        figures, tally = asyncio.run(run_load(servers, tokens, admin, system_id, url, args))
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(15)
            except subprocess.TimeoutExpired:
                server.process.kill()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(10)
        if database:
            with psycopg.connect(f"{PG}/test", autocommit=True) as admin_connection:
                admin_connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)

    ms = 1000.0
    print(
        f"\nstore {args.db}, {args.servers} server(s), {args.streams} streams "
        f"({args.slow} not reading), asked {args.rate:g} events/s, {args.seconds:g} s measured"
    )
    print(f"streams opened (all snapshots in): {figures.open_seconds:.2f} s")
    print(
        f"call events recorded: {figures.events_per_second:.0f}/s; entries delivered to "
        f"streams: {figures.delivered_per_second:.0f}/s"
    )
    print(f"{'':38}{'p50':>9}{'p99':>9}{'max':>9}")
    for label, values in (
        ("event → journal push (ms)", tally.latencies),
        ("baseline: plain API round trip (ms)", figures.plain),
    ):
        if values:
            print(
                f"{label:38}{percentile(values, 0.5) * ms:9.2f}"
                f"{percentile(values, 0.99) * ms:9.2f}{max(values) * ms:9.2f}"
            )
    print(
        f"baseline: raw inserts {one_per_commit:.0f} rows/s one per transaction, "
        f"{batched:.0f} rows/s 250 per transaction"
    )
    for n, server in enumerate(servers):
        samples = server.memory or [float("nan")]
        print(
            f"server {n} RSS: idle {idle[n]:.0f} MB; under load first {samples[0]:.0f}, "
            f"min {min(samples):.0f}, max {max(samples):.0f}, last {samples[-1]:.0f} MB "
            f"({len(samples)} samples, every 5 s)"
        )
    if tally.errors:
        print(f"{len(tally.errors)} stream errors, e.g. {tally.errors[:3]}")
    if tally.latencies:
        print(f"mean push {statistics.mean(tally.latencies) * ms:.2f} ms")


if __name__ == "__main__":
    main()
