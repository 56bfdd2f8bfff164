"""Local stand-ins for a FRITZ!Box, built from its published interfaces (no box is reachable here).

- `CallMonitorServer`: a TCP server on 127.0.0.1 that writes call-monitor lines to whoever
  connects, cut into chunks as a test asks (one byte at a time, random sizes, all at once), and
  can drop the connection or refuse new ones.
- `Tr064Server`: an HTTP server answering the TR-064 requests fritzconnection makes, as AVM
  documents them: the device description (`tr64desc.xml`), the `X_VoIP` service description,
  and its SOAP actions `X_AVM-DE_DialSetConfig`, `X_AVM-DE_DialNumber`, `X_AVM-DE_DialHangup`,
  behind HTTP digest authentication (RFC 7616, MD5, qop=auth) like the box. It records the
  actions it accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree

import pytest

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "fritzbox"
CALL_MONITOR_LINES = CONFORMANCE / "fritzbox_callmonitor_lines_from_public_sources.txt"


def conformance_blocks() -> dict[str, list[str]]:
    """The call-monitor lines of ../shared/conformance/fritzbox, by the `##` block they are in.
    Skips the test where the folder is not beside the checkout."""
    if not CALL_MONITOR_LINES.is_file():
        pytest.skip("../shared/conformance/fritzbox is not beside the checkout")
    blocks: dict[str, list[str]] = {}
    name = "header"
    for raw in CALL_MONITOR_LINES.read_text(encoding="utf-8").splitlines():
        if raw.startswith("##"):
            if not blocks.get(name):  # a heading's second line: the same block
                blocks.pop(name, None)
                name = raw.lstrip("# ").strip() if name == "header" else name
            else:
                name = raw.lstrip("# ").strip()
            blocks.setdefault(name, [])
        elif raw.strip() and not raw.startswith("#"):
            # One example line carries the author's note after it ("<- NB: …"): the line is
            # what comes before the note.
            blocks.setdefault(name, []).append(raw.split("     <-", 1)[0].rstrip())
    return blocks


def chunked(data: bytes, how: str, rng: random.Random) -> Iterator[bytes]:
    if how == "whole":
        yield data
    elif how == "bytes":
        for i in range(len(data)):
            yield data[i : i + 1]
    else:
        i = 0
        while i < len(data):
            n = rng.randint(1, 40)
            yield data[i : i + n]
            i += n


class CallMonitorServer:
    """A call monitor on 127.0.0.1 that a test feeds line by line."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        self._connected = asyncio.Event()

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        self._connected.set()
        # The monitor never reads: wait for the client to go (or the server to stop).
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await reader.read()

    async def connected(self) -> asyncio.StreamWriter:
        await asyncio.wait_for(self._connected.wait(), 15)
        return self.writers[-1]

    async def send(
        self, lines: list[str], how: str = "whole", end: bytes = b"\n", seed: int = 0
    ) -> None:
        writer = await self.connected()
        data = b"".join(line.encode() + end for line in lines)
        for chunk in chunked(data, how, random.Random(seed)):
            writer.write(chunk)
            await writer.drain()
            if how != "whole":
                await asyncio.sleep(0)  # let the reader see each chunk on its own

    async def drop(self) -> None:
        """Close every connection (a box that rebooted)."""
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        self._connected.clear()

    async def stop(self) -> None:
        await self.drop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


# --- TR-064 -------------------------------------------------------------------------------------

VOIP_TYPE = "urn:dslforum-org:service:X_VoIP:1"

DEVICE_DESCRIPTION = f"""<?xml version="1.0"?>
<root xmlns="urn:dslforum-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<systemVersion><HW>226</HW><Major>154</Major><Minor>7</Minor><Patch>57</Patch>
<Buildnumber>111111</Buildnumber><Display>154.07.57</Display></systemVersion>
<device>
<deviceType>urn:dslforum-org:device:InternetGatewayDevice:1</deviceType>
<friendlyName>FRITZ!Box 7590 (local stand-in)</friendlyName>
<manufacturer>AVM</manufacturer>
<modelName>FRITZ!Box 7590</modelName>
<serviceList>
<service>
<serviceType>{VOIP_TYPE}</serviceType>
<serviceId>urn:X_VoIP-com:serviceId:X_VoIP1</serviceId>
<controlURL>/upnp/control/x_voip</controlURL>
<eventSubURL>/upnp/control/x_voip</eventSubURL>
<SCPDURL>/x_voipSCPD.xml</SCPDURL>
</service>
</serviceList>
</device>
</root>
"""


def _action(name: str, arguments: list[tuple[str, str]]) -> str:
    args = "".join(
        f"<argument><name>{n}</name><direction>in</direction>"
        f"<relatedStateVariable>{v}</relatedStateVariable></argument>"
        for n, v in arguments
    )
    return f"<action><name>{name}</name><argumentList>{args}</argumentList></action>"


SERVICE_DESCRIPTION = f"""<?xml version="1.0"?>
<scpd xmlns="urn:dslforum-org:service-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<actionList>
{_action("X_AVM-DE_DialNumber", [("NewX_AVM-DE_PhoneNumber", "X_AVM-DE_PhoneNumber")])}
{_action("X_AVM-DE_DialSetConfig", [("NewX_AVM-DE_PhoneName", "X_AVM-DE_PhoneName")])}
{_action("X_AVM-DE_DialHangup", [])}
</actionList>
<serviceStateTable>
<stateVariable sendEvents="no"><name>X_AVM-DE_PhoneNumber</name>
<dataType>string</dataType></stateVariable>
<stateVariable sendEvents="no"><name>X_AVM-DE_PhoneName</name>
<dataType>string</dataType></stateVariable>
</serviceStateTable>
</scpd>
"""

_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
REALM = "F!Box SOAP-Auth"


def _fault(code: int, description: str) -> bytes:
    return f"""<?xml version="1.0"?>
<s:Envelope xmlns:s="{_SOAP}" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<s:Body>
<s:Fault>
<faultcode>s:Client</faultcode>
<faultstring>UPnPError</faultstring>
<detail>
<UPnPError xmlns="urn:dslforum-org:control-1-0">
<errorCode>{code}</errorCode>
<errorDescription>{description}</errorDescription>
</UPnPError>
</detail>
</s:Fault>
</s:Body>
</s:Envelope>""".encode()


def _ok(action: str) -> bytes:
    return f"""<?xml version="1.0"?>
<s:Envelope xmlns:s="{_SOAP}" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<s:Body><u:{action}Response xmlns:u="{VOIP_TYPE}"></u:{action}Response></s:Body>
</s:Envelope>""".encode()


@dataclass
class Tr064Server:
    user: str = "offhook"
    password: str = "s3cret pass"
    #: The phones the dialling aid knows.
    phones: tuple[str, ...] = ("DECT: Mobilteil 1", "FON1: Telefon")
    #: (action, arguments) of every action accepted, in order.
    actions: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refused_logins: int = 0
    port: int = 0
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _nonces: set[str] = field(default_factory=set)

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def _send(self, status: int, body: bytes, kind: str, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/tr64desc.xml":
                    self._send(200, DEVICE_DESCRIPTION.encode(), 'text/xml; charset="utf-8"', {})
                elif self.path == "/x_voipSCPD.xml":
                    self._send(200, SERVICE_DESCRIPTION.encode(), 'text/xml; charset="utf-8"', {})
                else:  # the box answers unknown resources (igddesc.xml here) like this
                    self._send(404, b"<HTML><BODY>404 Not Found</BODY></HTML>", "text/html", {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not server._authorised(self.command, self.path, self.headers):
                    nonce = secrets.token_hex(8)
                    server._nonces.add(nonce)
                    challenge = (
                        f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5, qop="auth"'
                    )
                    self._send(
                        401,
                        b"<HTML><HEAD><TITLE>401 Unauthorized</TITLE></HEAD></HTML>",
                        "text/html",
                        {"WWW-Authenticate": challenge},
                    )
                    return
                if self.path != "/upnp/control/x_voip":
                    self._send(404, b"<HTML>404</HTML>", "text/html", {})
                    return
                status, answer = server._soap(self.headers.get("soapaction", ""), body)
                self._send(status, answer, 'text/xml; charset="utf-8"', {})

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def _authorised(self, method: str, path: str, headers: Message) -> bool:
        header = headers.get("Authorization", "") or ""
        if not header.startswith("Digest "):
            return False
        parts = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
        if parts.get("nonce") not in self._nonces or parts.get("username") != self.user:
            self.refused_logins += 1
            return False
        ha1 = hashlib.md5(f"{self.user}:{REALM}:{self.password}".encode()).hexdigest()  # noqa: S324
        ha2 = hashlib.md5(f"{method}:{parts.get('uri', '')}".encode()).hexdigest()  # noqa: S324
        expected = hashlib.md5(  # noqa: S324
            f"{ha1}:{parts['nonce']}:{parts.get('nc', '')}:{parts.get('cnonce', '')}:"
            f"{parts.get('qop', '')}:{ha2}".encode()
        ).hexdigest()
        if parts.get("response") != expected or parts.get("uri") != path:
            self.refused_logins += 1
            return False
        return True

    def _soap(self, soapaction: str, body: bytes) -> tuple[int, bytes]:
        service, _, action = soapaction.strip('"').partition("#")
        if service != VOIP_TYPE:
            return 500, _fault(401, "Invalid Action")
        root = ElementTree.fromstring(body)  # noqa: S314 (the test's own client)
        call = root.find(f"{{{_SOAP}}}Body/{{{VOIP_TYPE}}}{action}")
        if call is None:
            return 500, _fault(401, "Invalid Action")
        arguments = {child.tag: child.text or "" for child in call}
        if action == "X_AVM-DE_DialSetConfig":
            if arguments.get("NewX_AVM-DE_PhoneName") not in self.phones:
                return 500, _fault(402, "Invalid Args")
        elif action == "X_AVM-DE_DialNumber":
            if not arguments.get("NewX_AVM-DE_PhoneNumber"):
                return 500, _fault(402, "Invalid Args")
        elif action != "X_AVM-DE_DialHangup":
            return 500, _fault(401, "Invalid Action")
        self.actions.append((action, arguments))
        return 200, _ok(action)
