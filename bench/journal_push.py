"""Event → journal push latency with many connected users, and the server's memory.

Starts a real `offhook serve` (its own process, on 127.0.0.1), connects one live journal stream
(server-sent events) per user, rings a random user's simulated line through the HTTP API and
measures the time until that user's stream delivers the ringing entry. Beside it, in the same
run: the round trip of a plain authenticated request to the same server (the floor any push
sits on). Also prints the server's resident memory idle and with every stream connected.

    .venv/bin/python bench/journal_push.py [--users 200] [--calls 400] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user, create_token
from offhook.store import Store
from tests.livesite import free_port

PG = "postgresql://127.0.0.1:5432"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed(url: str, users: int) -> list[str]:
    store = Store(url)
    store.migrate()
    tokens = []
    with store.session() as session:
        install_driver(session, "simulator", auto_load=True)
        pbx = add_phone_system(session, "simulator", "bench PBX")
        for n in range(users):
            user = add_user(session, f"user{n}", f"User {n}", "bench-password-1")
            add_line(session, user, pbx, str(100 + n))
            tokens.append(create_token(session, user, "bench"))
    store.dispose()
    return tokens


async def stream(
    client: httpx.AsyncClient,
    token: str,
    arrivals: dict[str, float],
    ready: asyncio.Event,
    connected: list[int],
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("GET", "/api/journal/stream", headers=headers, timeout=None) as r:
        kind = ""
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                if kind == "snapshot":
                    connected[0] += 1
                    if connected[0] == connected[1]:
                        ready.set()
                elif kind == "call":
                    entry = json.loads(line[6:])["entry"]
                    if entry["state"] == "ringing":
                        arrivals.setdefault(entry["number"]["raw"], time.perf_counter())


async def measure(base: str, tokens: list[str], calls: int) -> tuple[list[float], list[float]]:
    arrivals: dict[str, float] = {}
    ready = asyncio.Event()
    connected = [0, len(tokens)]
    limits = httpx.Limits(max_connections=len(tokens) + 20)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        streams = [
            asyncio.create_task(stream(client, token, arrivals, ready, connected))
            for token in tokens
        ]
        await asyncio.wait_for(ready.wait(), 120)
        push, plain = [], []
        for n in range(calls):
            token = tokens[n % len(tokens)]
            headers = {"Authorization": f"Bearer {token}"}
            started = time.perf_counter()
            await client.get("/api/preferences/journal-panel", headers=headers)
            plain.append(time.perf_counter() - started)
            number = f"+4144{5000000 + n:07d}"
            sent = time.perf_counter()
            response = await client.post(
                "/api/drivers/simulator/calls",
                json={"number": number, "outcome": "ringing"},
                headers=headers,
            )
            response.raise_for_status()
            deadline = time.perf_counter() + 10
            while number not in arrivals and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            push.append(arrivals[number] - sent)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
    return push, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="offhook-bench-"))
    database = None
    if args.db == "postgres":
        database = f"offhook_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG}/test", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        url = f"postgresql+psycopg://127.0.0.1:5432/{database}"
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
    print(f"seeding {args.users} users with a simulated line each ({args.db}) …", flush=True)
    tokens = seed(url, args.users)
    port = free_port()
    env = {**os.environ, "OFFHOOK_DATABASE_URL": url, "OFFHOOK_DATA_DIR": str(tmp)}
    server = subprocess.Popen(
        [sys.executable, "-m", "offhook", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(1)
        idle = rss_mb(server.pid)
        push, plain = asyncio.run(measure(base, tokens, args.calls))
        busy = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
        if database:
            with psycopg.connect(f"{PG}/test", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    ms = 1000.0
    print(f"\n{args.calls} calls, {args.users} connected journal streams, store: {args.db}")
    print(f"{'':34}{'p50':>9}{'p99':>9}{'max':>9}")
    for label, values in (
        ("event → journal push (ms)", push),
        ("baseline: plain API round trip (ms)", plain),
    ):
        print(
            f"{label:34}{percentile(values, 0.5) * ms:9.2f}{percentile(values, 0.99) * ms:9.2f}"
            f"{max(values) * ms:9.2f}"
        )
    print(
        f"push p99 / baseline p99: {percentile(push, 0.99) / percentile(plain, 0.99):.1f}×"
        f"   (target: push p99 ≤ 50 ms)"
    )
    print(
        f"server RSS: idle {idle:.0f} MB, with {args.users} streams {busy:.0f} MB "
        f"(target: idle ≤ 120 MB); mean push {statistics.mean(push) * ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
