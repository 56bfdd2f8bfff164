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
    """Incremental parser; `feed` returns the messages completed by the bytes given.

    `wanted`: the only events (by name) worth parsing; other events that answer no action are
    dropped on their first line, before their headers are read (a busy PBX sends far more
    than the driver reads). None: every message.
    """

    wanted: frozenset[str] | None = None
    version: str | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _banner_done: bool = False
    #: The wanted names as the first line of a message carries them.
    _wanted_lines: frozenset[bytes] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        if self.wanted is not None:
            self._wanted_lines = frozenset(f"Event: {name}".encode() for name in self.wanted)

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
        buf = self._buffer
        pos = 0
        try:
            while True:
                pos = self._skip_empty_lines(pos)
                end, skip = self._message_end(pos)
                if end < 0:
                    break
                block = bytes(buf[pos:end])
                pos = end + skip
                if self._unwanted(block):
                    continue
                message = parse_block(block)
                if message is not None:
                    out.append(message)
        finally:
            # One cut per read, not one per message: a read of many messages stays linear.
            del buf[:pos]
        self._check_size()
        return out

    def _skip_empty_lines(self, pos: int) -> int:
        buf = self._buffer
        while True:
            if buf[pos : pos + 1] == b"\n":
                pos += 1
            elif buf[pos : pos + 2] == b"\r\n":
                pos += 2
            else:
                return pos

    def _message_end(self, pos: int) -> tuple[int, int]:
        """Where the message at `pos` ends (its last line's \\n) and how long the empty line
        after it is; (-1, 0) while it is incomplete. Lines end in CRLF or LF (captures)."""
        buf = self._buffer
        crlf = buf.find(b"\n\r\n", pos)
        limit = crlf if crlf >= 0 else len(buf)
        lf = buf.find(b"\n\n", pos, limit + 1)
        if lf >= 0:
            return lf, 2
        if crlf >= 0:
            return crlf, 3
        return -1, 0

    def _unwanted(self, block: bytes) -> bool:
        if self.wanted is None or not block.startswith(b"Event: "):
            return False
        first = block.split(b"\n", 1)[0].rstrip(b"\r")
        return first not in self._wanted_lines and b"\nActionID:" not in block

    def _check_size(self) -> None:
        if len(self._buffer) > MAX_MESSAGE:
            self._buffer.clear()
            raise FramingError(f"an AMI message longer than {MAX_MESSAGE} bytes")


def parse_block(block: bytes) -> AmiMessage | None:
    try:
        # Nearly always the whole message is UTF-8 (or ASCII): decoded at once, the values
        # are the same as decoded one by one.
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return _parse_raw_lines(block)
    headers: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for line in text.split("\n"):
        key, sep, value = line.partition(":")
        if not sep:
            continue  # an empty line, or command output without a key (Asterisk ≤ 13 `Follows`)
        key = key.strip()
        value = value[1:] if value[:1] == " " else value
        if value[-1:] == "\r":
            value = value[:-1]
        if key in headers:
            extra.append((key, value))
        else:
            headers[key] = value
    return _message(headers, extra)


def _parse_raw_lines(block: bytes) -> AmiMessage | None:
    """A message that is not all UTF-8: each key and value decoded on its own."""
    headers: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for raw in block.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        key_raw, sep, value_raw = line.partition(b":")
        if not sep:
            continue
        key = decode(key_raw).strip()
        value = decode(value_raw[1:] if value_raw.startswith(b" ") else value_raw)
        if key in headers:
            extra.append((key, value))
        else:
            headers[key] = value
    return _message(headers, extra)


def _message(headers: dict[str, str], extra: list[tuple[str, str]]) -> AmiMessage | None:
    if len(headers) + len(extra) > MAX_HEADERS:
        raise FramingError(f"an AMI message with more than {MAX_HEADERS} headers")
    return AmiMessage(headers, extra) if headers else None
