"""A redis-server of a test's own on a free loopback port, to stop, restart, pause or cut off.

The shared Redis must not be disturbed, so tests of outages start their own.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.livesite import free_port


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start (again, on the same port) and wait until it answers."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self._process = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                # DEBUG SLEEP pauses it; Redis 7 allows DEBUG only when told to.
                *("--enable-debug-command", "local"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with self.client() as probe:
                    probe.ping()
                return
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop at once, as a crash would: clients see their connections reset."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)

    def kill_subscribers(self) -> int:
        """Cut every pub/sub connection (`CLIENT KILL TYPE pubsub`); returns how many."""
        with self.client() as admin:
            return int(admin.client_kill_filter(_type="pubsub"))

    def pause(self, seconds: float) -> None:
        """Keep Redis busy for `seconds`: it answers nobody meanwhile (`DEBUG SLEEP`)."""
        with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=seconds + 10) as admin:
            admin.execute_command("DEBUG", "SLEEP", str(seconds))


@contextmanager
def redis_server(directory: Path, started: bool = True) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    if started:
        server.start()
    try:
        yield server
    finally:
        server.stop()
