"""Connections that send nothing, or too slowly, against a real server process.

Found while checking issue 8: 2,000 sockets opened without a byte (no login needed) kept every
other client out with 503 for as long as they stayed open; uvicorn waits for a request's head
and body without a deadline and counts idle connections against OFFHOOK_MAX_CONNECTIONS.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from offhook.web.connections import BODY_PAUSE, HEAD_TIMEOUT, MAX_UNFINISHED_PER_ADDRESS
from tests.web.serverprocess import Server, server_process

MAX_CONNECTIONS = 300


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with server_process(tmp_path, OFFHOOK_MAX_CONNECTIONS=str(MAX_CONNECTIONS)) as server:
        yield server


def open_from(address: str, port: int, count: int) -> list[socket.socket]:
    """`count` connections from `address` (another loopback address than the test client's)."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((address, 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    """Whether the server closes the connection within `wait` seconds (after an answer, if
    it gives one)."""
    sock.settimeout(wait)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_idle_and_slow_connections_are_closed(server: Server) -> None:
    # One address cannot hold more than its share of unfinished requests.
    crowd = open_from("127.0.0.2", server.port, 3 * MAX_UNFINISHED_PER_ADDRESS)
    assert sum(closed_by_server(sock, 0.05) for sock in crowd) >= 2 * MAX_UNFINISHED_PER_ADDRESS
    assert httpx.get(f"{server.base}/login").status_code == 200

    # One connection sends its head a line at a time, one stops in the middle of a body ...
    drip = socket.create_connection(("127.0.0.1", server.port))
    drip.sendall(b"GET /login HTTP/1.1\r\n")
    stalled = socket.create_connection(("127.0.0.1", server.port))
    stalled.sendall(
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nlogin=anna"
    )
    # ... and many addresses together take every connection the server serves ...
    idle = [
        sock
        for n in range(MAX_CONNECTIONS // MAX_UNFINISHED_PER_ADDRESS + 1)
        for sock in open_from(f"127.0.1.{n + 1}", server.port, MAX_UNFINISHED_PER_ADDRESS)
    ]
    started = time.monotonic()
    while time.monotonic() - started < HEAD_TIMEOUT - 2:
        time.sleep(1)
        drip.sendall(b"X-Slow: 1\r\n")
    # ... and are closed once their deadlines pass: the server serves again.
    wait = max(HEAD_TIMEOUT, BODY_PAUSE) + 5
    assert closed_by_server(drip, wait)
    assert closed_by_server(stalled, wait)
    assert all(closed_by_server(sock, wait) for sock in idle)
    assert httpx.get(f"{server.base}/login").status_code == 200
    for sock in [*crowd, *idle, drip, stalled]:
        sock.close()
    assert "Traceback" not in server.log.read_text(errors="replace")


def test_connections_kept_alive_after_an_answer_do_not_count(server: Server) -> None:
    """An office behind one address (NAT) or a reverse proxy keeps many connections open
    between requests (HTTP keep-alive); those are not unfinished requests, and a new
    connection from the same address is served."""
    request = b"GET /login HTTP/1.1\r\nHost: offhook\r\n\r\n"
    office = []
    for _ in range(MAX_UNFINISHED_PER_ADDRESS + 1):  # one browser after the other
        [sock] = open_from("127.0.0.3", server.port, 1)
        sock.sendall(request)
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
        office.append(sock)
    # All of them now wait for their next request; one more from the same address is served.
    [newcomer] = open_from("127.0.0.3", server.port, 1)
    newcomer.sendall(request)
    newcomer.settimeout(10)
    assert newcomer.recv(4096).startswith(b"HTTP/1.1 200")
    for sock in [*office, newcomer]:
        sock.close()
