"""What a webhook request costs offhook, refused and accepted, beside a request that does no
work at all.

Starts a real `offhook serve` (its own process, on 127.0.0.1, SQLite) with one sipgate phone
system whose signature key is the bench's own (sipgate's private key is sipgate's), and sends
it, one after another over one keep-alive connection:

| row | request |
|---|---|
| baseline | `GET /favicon.ico`: answered by a redirect, no work (the floor every request sits on) |
| unknown account | a signed push to an address that is no phone system's: 404, body unread |
| too large | a 17 KB push: 413 as soon as it passes 16 KB |
| forged | a push with a wrong signature: 403 after one RSA check |
| malformed | a signed push without callId: 400 |
| replayed | an accepted push sent again: 409 |
| accepted | a signed new call for a line: 200 with sipgate's XML (recorded after the answer) |

    .venv/bin/python bench/webhook_refusals.py [--requests 300]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offhook.lines.admin import add_line, add_phone_system, install_driver
from offhook.settings.users import add_user
from offhook.store import Store
from tests.livesite import free_port

TOKEN = "bench-url-token-0123456789"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)  # as sipgate's
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def sign(body: bytes) -> dict[str, str]:
        raw = key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return {
            "X-Sipgate-Signature": base64.b64encode(raw).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        }

    tmp = Path(tempfile.mkdtemp(prefix="offhook-bench-"))
    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    store = Store(url)
    store.migrate()
    with store.session() as session:
        install_driver(session, "sipgate", auto_load=True)
        system = add_phone_system(
            session, "sipgate", "bench", {"url_token": TOKEN, "signature_key": pem.decode()}
        )
        user = add_user(session, "anna", "Anna", "bench-password-1")
        add_line(session, user, system, "w0")
    store.dispose()

    port = free_port()
    env = {**os.environ, "OFFHOOK_DATABASE_URL": url, "OFFHOOK_DATA_DIR": str(tmp)}
    server = subprocess.Popen(
        [sys.executable, "-m", "offhook", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    hook = f"/drivers/sipgate/hooks/{TOKEN}"
    counter = iter(range(10**9))

    def new_call() -> bytes:
        return (
            f"event=newCall&direction=in&from=492111234567&to=4930600000000"
            f"&callId=bench-{next(counter)}&user[]=Anna&userId[]=w0"
        ).encode()

    replayed = new_call()
    replayed_signed = sign(replayed)
    big = new_call() + b"&pad=" + b"x" * (17 * 1024)
    n = args.requests

    def malformed() -> tuple[bytes, dict[str, str]]:
        body = f"event=newCall&direction=in&from=492111234567&n={next(counter)}".encode()
        return body, sign(body)

    # Every request is made (and signed: the bench's cost, not offhook's) before it is timed.
    Request = tuple[str, str, bytes, dict[str, str]]
    cases: list[tuple[str, int, list[Request]]] = [
        ("baseline", 307, [("GET", "/favicon.ico", b"", {})] * n),
        (
            "unknown account",
            404,
            [("POST", "/drivers/sipgate/hooks/unknown", replayed, replayed_signed)] * n,
        ),
        ("too large", 413, [("POST", hook, big, replayed_signed)] * n),
        ("forged", 403, [("POST", hook, new_call(), replayed_signed) for _ in range(n)]),
        ("malformed", 400, [("POST", hook, *malformed()) for _ in range(n)]),
        ("replayed", 409, [("POST", hook, replayed, replayed_signed)] * n),
        ("accepted", 200, [("POST", hook, b, sign(b)) for b in (new_call() for _ in range(n))]),
    ]
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=10) as client:
            first = client.post(hook, content=replayed, headers=replayed_signed)
            assert first.status_code == 200, first.text
            print(f"{args.requests} requests each, one keep-alive connection, SQLite")
            print(f"{'row':<16} {'p50 ms':>8} {'p99 ms':>8} {'× baseline p50':>15}")
            floor = 0.0
            for name, status, requests in cases:
                times = []
                for method, path, body, headers in requests:
                    start = time.perf_counter()
                    response = client.request(method, path, content=body, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == status, (name, response.status_code)
                    if response.headers.get("connection") == "close":
                        client.close()
                        client = httpx.Client(base_url=base, timeout=10)
                p50 = statistics.median(times)
                floor = floor or p50
                print(f"{name:<16} {p50:8.2f} {percentile(times, 0.99):8.2f} {p50 / floor:15.1f}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
