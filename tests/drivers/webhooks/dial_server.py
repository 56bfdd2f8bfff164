"""A local stand-in for a provider's REST API, for click-to-dial tests.

NOT the provider: sipgate's and Placetel's APIs cannot be reached from here. It answers the
requests as their published descriptions say (see each test), records what it was sent, and
refuses requests without the expected credentials, so a driver that sends the wrong request
fails the test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: (method, path, headers, JSON body) -> (status, JSON answer)
Handler = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


@dataclass
class ApiStandIn:
    url: str
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)


@contextmanager
def api_stand_in(handler: Handler) -> Iterator[ApiStandIn]:
    stand_in = ApiStandIn("")

    class Handle(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {key.lower(): value for key, value in self.headers.items()}
            stand_in.requests.append((self.command, self.path, headers, body))
            status, answer = handler(self.command, self.path, headers, body)
            data = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    thread = threading.Thread(target=server.serve_forever, name="api-stand-in", daemon=True)
    thread.start()
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
