"""AMI framing: bytes from the manager port in, messages (header dicts) out.

An AMI message is `Key: Value` lines ended by an empty line; the server starts with one banner
line `Asterisk Call Manager/<version>` and no empty line after it. Asterisk sends CRLF, captures
by others are often LF only: both are accepted. Caller names arrive as raw bytes (UTF-8 mostly,
sometimes a legacy code page), so messages are framed on bytes and each value decoded on its
own: a UTF-8 character split across two reads cannot be torn, and a value that is not UTF-8
is read as Latin-1 rather than dropped.

Everything here comes from the network: sizes are bounded and nothing a peer sends can raise
anything but `FramingError` out of `feed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Longest message kept (a Command output or a QueueStatus entry is far smaller).
MAX_MESSAGE = 256 * 1024
#: Headers kept per message; Asterisk itself accepts 128 from clients.
MAX_HEADERS = 512
BANNER = b"Asterisk Call Manager/"


class FramingError(Exception):
    """The peer sent something that is not AMI; the connection is dropped with this reason."""


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class AmiMessage:
    """One message: its headers in order (keys as sent; repeats kept in `extra`)."""

    headers: dict[str, str]
    #: Repeated keys (`Variable`, `ChanVariable`, `Output`) after their first value.
    extra: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str = "") -> str:
        return self.headers.get(key, default)


@dataclass
class AmiFramer:
    """Incremental parser; `feed` returns the messages completed by the bytes given."""

    version: str | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _banner_done: bool = False

    def feed(self, data: bytes) -> list[AmiMessage]:
        self._buffer += data
        out: list[AmiMessage] = []
        if not self._banner_done:
            if len(self._buffer) < len(BANNER) and BANNER.startswith(bytes(self._buffer)):
                return out
            if self._buffer.startswith(BANNER):
                end = self._buffer.find(b"\n")
                if end < 0:
                    self._check_size()
                    return out
                self.version = decode(bytes(self._buffer[len(BANNER) : end])).strip()
                del self._buffer[: end + 1]
            self._banner_done = True
        while True:
            end, skip = self._message_end()
            if end < 0:
                self._check_size()
                return out
            block = bytes(self._buffer[:end])
            del self._buffer[: end + skip]
            message = parse_block(block)
            if message is not None:
                out.append(message)

    def _message_end(self) -> tuple[int, int]:
        """Where the first complete message ends and how long its terminator is."""
        buf = self._buffer
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                return -1, 0
            # The line after `nl` is empty when the next byte is \n, or \r\n.
            if buf[nl + 1 : nl + 2] == b"\n":
                return nl, 2
            if buf[nl + 1 : nl + 3] == b"\r\n":
                return nl, 3
            if nl == 0 or (nl == 1 and buf[0:1] == b"\r"):
                # Leading empty lines between messages.
                del buf[: nl + 1]
                start = 0
                continue
            if nl + 1 >= len(buf) or (nl + 2 >= len(buf) and buf[nl + 1 : nl + 2] == b"\r"):
                return -1, 0  # wait: the next bytes decide
            start = nl + 1

    def _check_size(self) -> None:
        if len(self._buffer) > MAX_MESSAGE:
            self._buffer.clear()
            raise FramingError(f"an AMI message longer than {MAX_MESSAGE} bytes")


def parse_block(block: bytes) -> AmiMessage | None:
    headers: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    count = 0
    for raw in block.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line:
            continue
        key_raw, sep, value_raw = line.partition(b":")
        if not sep:
            continue  # command output without a key (Asterisk ≤ 13 `Follows`): not needed
        count += 1
        if count > MAX_HEADERS:
            raise FramingError(f"an AMI message with more than {MAX_HEADERS} headers")
        key = decode(key_raw).strip()
        value = decode(value_raw[1:] if value_raw.startswith(b" ") else value_raw)
        if key in headers:
            extra.append((key, value))
        else:
            headers[key] = value
    if not headers:
        return None
    return AmiMessage(headers, extra)
