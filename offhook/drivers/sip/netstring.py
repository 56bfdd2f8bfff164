"""Netstring framing (`<length>:<payload>,`) as spoken by baresip's ctrl_tcp module.

The decoder is incremental: feed it whatever TCP delivers and it returns the complete frames.
A control connection can carry damage (a half-written frame from a baresip that was killed, a
stray write from another program, a length that cannot be right): bytes that do not form a
frame are skipped up to the next plausible frame start, and every skip is counted and explained,
so the connection survives a bad frame instead of dying on it. Only a declared length beyond
`max_size` is fatal: waiting for that many bytes would stall the line, so the caller should drop
the connection and reconnect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

#: baresip's own limit (netstring.h) is 999,999,999 bytes; its messages are a few kB at most.
DEFAULT_MAX_SIZE = 1 << 20

# A frame start as baresip writes it: a length without leading zeros, a colon and a JSON object.
# Resynchronisation looks for this, so garbage that merely contains digits is not taken for a
# frame.
_FRAME_START = re.compile(rb"(?:0|[1-9][0-9]{0,9}):\{")


class NetstringError(Exception):
    """The stream cannot be framed any more; drop the connection."""


def encode(payload: bytes) -> bytes:
    """Frame one payload."""
    return b"%d:%s," % (len(payload), payload)


@dataclass
class NetstringDecoder:
    """Split a byte stream into netstring payloads, surviving garbage and broken frames."""

    max_size: int = DEFAULT_MAX_SIZE
    #: Judges a frame's content (e.g. "is it JSON?"); a frame that fails counts as damage.
    plausible: Callable[[bytes], bool] = field(default=lambda payload: True)
    _buffer: bytearray = field(default_factory=bytearray)
    #: Why bytes were skipped, oldest first; the caller logs and clears it after each `feed`.
    problems: list[str] = field(default_factory=list)
    skipped_bytes: int = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every frame completed by them, in order.

        Raises `NetstringError` if a frame declares a length above `max_size`.
        """
        self._buffer += data
        frames: list[bytes] = []
        while (frame := self._next_frame()) is not None:
            frames.append(frame)
        return frames

    @property
    def pending(self) -> int:
        """Bytes held back as the beginning of a frame not yet complete."""
        return len(self._buffer)

    def _next_frame(self) -> bytes | None:
        """Cut the next complete frame off the buffer, skipping damage; None: wait for more."""
        length_digits = len(str(self.max_size))
        while self._buffer:
            buf = self._buffer
            colon = buf.find(b":", 0, length_digits + 2)
            if colon == -1:
                if len(buf) <= length_digits and buf.isdigit():
                    return None  # a length still arriving
                self._resync("no length prefix")
                continue
            digits = bytes(buf[:colon])
            if not digits.isdigit() or (len(digits) > 1 and digits.startswith(b"0")):
                self._resync("no length prefix")
                continue
            length = int(digits)
            if length > self.max_size:
                raise NetstringError(
                    f"a control message announced {length:,} bytes, more than the "
                    f"{self.max_size:,} allowed"
                )
            end = colon + 1 + length
            if len(buf) <= end:
                return None  # wait for the rest of the payload and the trailing comma
            if buf[end] != ord(","):
                # The length was wrong (a truncated frame followed by the next one, or garbage
                # that happened to look like a length): skip this header and look again.
                self._resync("frame not terminated where its length said")
                continue
            frame = bytes(buf[colon + 1 : end])
            if not self.plausible(frame):
                self._resync("frame content is not a control message")
                continue
            del buf[: end + 1]
            return frame
        return None

    def _resync(self, reason: str) -> None:
        """Drop bytes up to the next plausible frame start after position 0.

        A candidate counts if its frame is still incomplete, or is complete, properly terminated
        and passes `plausible`: after damage, digits of the broken frame can join the next
        length (`{"a":1` + `7:{…` reads as `17:{…`), and this check rejects such fakes.
        """
        buf = self._buffer
        cut = 0
        for match in _FRAME_START.finditer(buf, 1):
            colon = buf.index(b":", match.start())
            length = int(buf[match.start() : colon])
            end = colon + 1 + length
            if length > self.max_size:
                continue
            if len(buf) <= end:
                cut = match.start()
                break
            if buf[end] == ord(",") and self.plausible(bytes(buf[colon + 1 : end])):
                cut = match.start()
                break
        if not cut:
            # Keep a tail that could be a frame start split across two reads.
            cut = max(len(buf) - (len(str(self.max_size)) + 2), 1)
            while cut < len(buf) and not buf[cut : cut + 1].isdigit():
                cut += 1
        self.skipped_bytes += cut
        self.problems.append(f"skipped {cut} byte(s): {reason}")
        del buf[:cut]
