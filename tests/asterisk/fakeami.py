"""A fake Asterisk manager port over TCP on 127.0.0.1, for replaying recorded AMI traffic.

It speaks as much AMI as the driver needs: the banner, Challenge + MD5 Login (or a plain
Secret), CoreShowChannels (an empty list unless told otherwise), Ping and Originate/Hangup
(recorded, answered Success). After a login it writes the given bytes in the chunks a
`chunker` cuts them into, each chunk flushed on its own with Nagle off, so the driver's reads
end where the chunks do as far as loopback TCP allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Chunker = Callable[[bytes], Iterator[bytes]]


def whole(data: bytes) -> Iterator[bytes]:
    yield data


def one_byte(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


def random_chunks(seed: int = 9) -> Chunker:
    def cut(data: bytes) -> Iterator[bytes]:
        rng = random.Random(seed)
        i = 0
        while i < len(data):
            n = rng.randint(1, 1500)
            yield data[i : i + n]
            i += n

    return cut


def mid_utf8(data: bytes) -> Iterator[bytes]:
    """Cut right after the first byte of every multi-byte UTF-8 character (and nowhere else)."""
    start = 0
    for i in range(len(data)):
        if data[i] >= 0xC0:  # a lead byte: cut between it and its continuation
            yield data[start : i + 1]
            start = i + 1
    yield data[start:]


@dataclass
class FakeAmi:
    username: str = "offhook"
    secret: str = "s3cret"
    stream: bytes = b""
    chunker: Chunker = whole
    channels: list[dict[str, str]] = field(default_factory=list)
    #: Actions received after login, as header dicts.
    actions: list[dict[str, str]] = field(default_factory=list)
    logins: int = 0
    refused: int = 0
    #: Logins that sent the secret itself instead of the MD5 answer to the challenge.
    plain_secrets: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    streamed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop(self) -> None:
        """Cut every connection (an AMI drop)."""
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    async def send(self, data: bytes) -> None:
        """Write more events to every logged-in connection, chunked."""
        for writer in list(self._writers):
            await self._write(writer, data)

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        for chunk in self.chunker(data):
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        challenge = ""
        logged_in = False
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                action: dict[str, str] = {}
                for line in block.decode("utf-8").split("\r\n"):
                    key, sep, value = line.partition(": ")
                    if sep:
                        action[key] = value
                name = action.get("Action", "").lower()
                reply = {"Response": "Success", "ActionID": action.get("ActionID", "")}
                if name == "challenge":
                    challenge = "424242"
                    reply["Challenge"] = challenge
                elif name == "login":
                    if "Secret" in action:
                        self.plain_secrets += 1
                    expected_key = hashlib.md5(
                        (challenge + self.secret).encode(), usedforsecurity=False
                    ).hexdigest()
                    ok = action.get("Username") == self.username and (
                        action.get("Key") == expected_key or action.get("Secret") == self.secret
                    )
                    if not ok:
                        self.refused += 1
                        reply.update(Response="Error", Message="Authentication failed")
                        writer.write(_frame(reply))
                        await writer.drain()
                        writer.close()
                        return
                    self.logins += 1
                    logged_in = True
                    reply["Message"] = "Authentication accepted"
                    writer.write(_frame(reply))
                    writer.write(_frame({"Event": "FullyBooted", "Status": "Fully Booted"}))
                    continue
                elif not logged_in:
                    reply.update(Response="Error", Message="Permission denied")
                elif name == "coreshowchannels":
                    reply.update(EventList="start", Message="Channels will follow")
                    writer.write(_frame(reply))
                    for channel in self.channels:
                        writer.write(
                            _frame(
                                {
                                    "Event": "CoreShowChannel",
                                    **channel,
                                    "ActionID": reply["ActionID"],
                                }
                            )
                        )
                    writer.write(
                        _frame(
                            {
                                "Event": "CoreShowChannelsComplete",
                                "EventList": "Complete",
                                "ListItems": str(len(self.channels)),
                                "ActionID": reply["ActionID"],
                            }
                        )
                    )
                    await writer.drain()
                    if self.stream and writer not in self._writers:
                        self._writers.append(writer)
                        await self._write(writer, self.stream)
                        self.streamed.set()
                    elif writer not in self._writers:
                        self._writers.append(writer)
                    continue
                else:
                    self.actions.append(action)
                    if name == "ping":
                        reply["Ping"] = "Pong"
                    if name == "originate":
                        reply["Message"] = "Originate successfully queued"
                writer.write(_frame(reply))
                if name == "originate":
                    # As Asterisk says it when the phone cannot be rung (unregistered).
                    writer.write(
                        _frame(
                            {
                                "Event": "OriginateResponse",
                                "ActionID": reply["ActionID"],
                                "Response": "Failure",
                                "Channel": action.get("Channel", ""),
                                "Reason": "0",
                                "Uniqueid": "<null>",
                            }
                        )
                    )
                await writer.drain()


def _frame(headers: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"
