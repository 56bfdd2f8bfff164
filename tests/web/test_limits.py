"""Limits before work, against a real server process whose memory is measured.

Issue 8, defect 1: three concurrent unauthenticated `POST /api/dial` with 100 MiB bodies took
the server from 165 to 811 MiB: there was no bound on a body, and it was read and parsed before
anybody asked who was sending it.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.livesite import logged_in
from tests.web.serverprocess import MIB, Server, server_process

HUNDRED_MIB = 100 * MIB
# What the server may grow by while it turns all of the attacks below away (it grew by
# 646 MiB before the limits).
RSS_GROWTH_BOUND = 40 * MIB


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with server_process(tmp_path) as server:
        yield server


def send(
    port: int,
    path: str,
    body_bytes: int,
    headers: dict[str, str],
    chunked: bool = True,
    prefix: bytes = b"",
) -> int | None:
    """POST `body_bytes` of body, streamed 1 MiB at a time, stopping as soon as the server
    answers; the answer's status, or None when the server closed the connection unanswered."""
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    chunk = b"x" * MIB
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        if prefix:
            sock.sendall(b"%x\r\n%s\r\n" % (len(prefix), prefix) if chunked else prefix)
        sent = 0
        try:
            while sent < body_bytes:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
                sock.sendall(data)
                sent += len(chunk)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            return None
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer.split(b" ", 2)[1])


def concurrently(*calls: tuple[object, ...]) -> list[int | None]:
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(send, *call) for call in calls]  # type: ignore[arg-type]
        return [future.result() for future in futures]


def test_big_bodies_are_turned_away_before_they_cost_memory(server: Server) -> None:
    client, csrf = logged_in(server.base, "anna")
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    json = {"Content-Type": "application/json"}
    # Warm up what a first request loads, so that the measurement sees only the attacks.
    assert client.get("/api/journal").status_code == 200
    before = server.rss()

    anonymous = (server.port, "/api/dial", HUNDRED_MIB, json)
    assert concurrently(anonymous, anonymous, anonymous) == [401, 401, 401]

    # A Content-Length that announces too much is refused without reading a byte; one that
    # announces little but is followed by much more gets the small body's answer, and the rest
    # is not a request.
    announced = {**json, "Content-Length": str(HUNDRED_MIB), "Cookie": cookie}
    lying = {**json, "Content-Length": "20", "Cookie": cookie, "X-CSRF-Token": csrf}
    streamed = {**json, "Cookie": cookie, "X-CSRF-Token": csrf}
    statuses = concurrently(
        (server.port, "/api/dial", HUNDRED_MIB, announced, False),
        (server.port, "/api/dial", HUNDRED_MIB, lying, False),
        (server.port, "/api/dial", HUNDRED_MIB, streamed),
        (server.port, "/api/dial", HUNDRED_MIB, streamed),
    )
    assert statuses[0] == 413
    assert statuses[1] in (422, None)  # 20 bytes of "x" are not JSON
    assert statuses[2:] == [413, 413]

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    upload = {"Content-Type": "multipart/form-data; boundary=b", "Cookie": cookie}
    file_part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    statuses = concurrently(
        (server.port, "/login", HUNDRED_MIB, form),
        (server.port, "/settings/users", HUNDRED_MIB, {**form, "Cookie": cookie}),
        (server.port, "/imports", HUNDRED_MIB, upload, True, file_part),
    )
    # A form field longer than a form's fields may be is refused as such (400).
    assert statuses in ([413, 400, 413], [413, 413, 413])
    grown = server.rss() - before
    assert grown < RSS_GROWTH_BOUND, f"the server grew by {grown / MIB:.0f} MiB"

    # The answer says what is wrong; and the server still serves.
    refused = client.post(
        "/api/dial",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )
    assert refused.status_code == 413
    assert refused.json() == {
        "detail": "The request is too large: at most 64 KB are accepted here."
    }
    assert client.get("/api/journal").status_code == 200
    client.close()


def test_too_many_headers_or_form_fields_are_refused(server: Server) -> None:
    client, csrf = logged_in(server.base, "anna")
    many = client.get("/api/journal", headers={f"x-h{i}": "y" * 100 for i in range(400)})
    assert many.status_code in (400, 431)  # h11's bound, or offhook's
    client, csrf = logged_in(server.base, "anna")  # that connection is closed
    fields = {f"f{i}": "1" for i in range(1500)}
    refused = client.post("/settings/users", data={"csrf_token": csrf, **fields})
    assert refused.status_code == 400
    assert client.get("/api/journal").status_code == 200
    client.close()
