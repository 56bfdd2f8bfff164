"""Netstring framing (`<length>:<payload>,`) as spoken by baresip's ctrl_tcp module.

The decoder is incremental: feed it whatever TCP delivers and it returns the complete frames.
A control connection can carry damage (a half-written frame from a baresip that was killed, a
stray write from another program, a length that cannot be right): bytes that do not form a
frame are skipped up to the next plausible frame start, and every skip is counted and explained,
so the connection survives a bad frame instead of dying on it. A declared length beyond
`max_size` is fatal (`broken`): waiting for that many bytes would stall the line, so the caller
should drop the connection and reconnect. So is a frame that `plausible` refuses outright
(`FrameRefused`, e.g. JSON nested too deeply to parse safely), or that it fails on in any other
way: nothing a peer sends can raise out of `feed`.
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


class FrameRefused(Exception):
    """Raised by a `plausible` judge: the frame is well formed but must not be accepted, and the
    stream is not to be trusted after it. The message says why, for the log and the user."""


def encode(payload: bytes) -> bytes:
    """Frame one payload."""
    return b"%d:%s," % (len(payload), payload)


@dataclass
class NetstringDecoder:
    """Split a byte stream into netstring payloads, surviving garbage and broken frames."""

    max_size: int = DEFAULT_MAX_SIZE
    #: Judges a frame's content (e.g. "is it JSON?"); a frame that fails counts as damage, one
    #: it raises `FrameRefused` (or anything else) for breaks the stream.
    plausible: Callable[[bytes], bool] = field(default=lambda payload: True)
    _buffer: bytearray = field(default_factory=bytearray, init=False, repr=False)
    #: Why bytes were skipped, oldest first; the caller logs and clears it after each `feed`.
    problems: list[str] = field(default_factory=list)
    skipped_bytes: int = 0
    #: Set when the stream cannot be framed any more (see `feed`).
    broken: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every frame completed by them, in order.

        Once a frame declares a length above `max_size`, `broken` says so and nothing more is
        decoded: the caller should drop the connection (after using the frames returned).
        """
        if self.broken:
            return []
        self._buffer += data
        frames: list[bytes] = []
        try:
            while (frame := self._next_frame()) is not None:
                frames.append(frame)
        except FrameRefused as exc:
            self.broken = str(exc)
        except Exception as exc:  # a judge that fails must not take the connection's reader down
            self.broken = f"a control message could not be read ({type(exc).__name__}: {exc})"
        if self.broken:
            self._buffer.clear()
        return frames

    @property
    def pending(self) -> int:
        """Bytes held back as the beginning of a frame not yet complete."""
        return len(self._buffer)

    def _next_frame(self) -> bytes | None:
        """Cut the next complete frame off the buffer, skipping damage; None: wait for more."""
        length_digits = len(str(self.max_size))
        while self._buffer and not self.broken:
            buf = self._buffer
            digits = len(buf) - len(buf.lstrip(b"0123456789"))
            if digits > length_digits:
                self.broken = (
                    f"a control message announced more than the {self.max_size:,} bytes allowed"
                )
                return None
            if digits == len(buf):
                return None  # a length still arriving
            if digits == 0 or buf[digits] != ord(":") or (digits > 1 and buf[0] == ord("0")):
                self._resync("no length prefix")
                continue
            length = int(buf[:digits])
            if length > self.max_size:
                self.broken = (
                    f"a control message announced {length:,} bytes, more than the "
                    f"{self.max_size:,} allowed"
                )
                return None
            end = digits + 1 + length
            if len(buf) <= end:
                return None  # wait for the rest of the payload and the trailing comma
            if buf[end] != ord(","):
                # The length was wrong (a truncated frame followed by the next one, or garbage
                # that happened to look like a length): skip this header and look again.
                self._resync("frame not terminated where its length said")
                continue
            frame = bytes(buf[digits + 1 : end])
            if not self.plausible(frame):
                self._resync("frame content is not a control message")
                continue
            del buf[: end + 1]
            return frame
        return None

    def _resync(self, reason: str) -> None:
        """Drop bytes up to the next plausible frame start after position 0.

        The first candidate that is complete, properly terminated and `plausible` wins; failing
        that, the first that is still incomplete (a frame not fully received). After damage,
        digits of the broken frame can join the next length (`{"a":1` + `78:{…` reads as
        `178:{…`), which is why candidates overlap and complete ones are preferred.
        """
        buf = self._buffer
        complete = incomplete = None
        position = 1
        while complete is None and (match := _FRAME_START.search(buf, position)):
            start = match.start()
            position = start + 1
            colon = buf.index(b":", start)
            length = int(buf[start:colon])
            end = colon + 1 + length
            if length > self.max_size:
                continue
            if len(buf) <= end:
                incomplete = start if incomplete is None else incomplete
            elif buf[end] == ord(",") and self.plausible(bytes(buf[colon + 1 : end])):
                complete = start
        cut = complete if complete is not None else incomplete
        if cut is None:
            # Keep a tail that could be a frame start split across two reads.
            cut = max(len(buf) - (len(str(self.max_size)) + 2), 1)
            while cut < len(buf) and not buf[cut : cut + 1].isdigit():
                cut += 1
        self.skipped_bytes += cut
        self.problems.append(f"skipped {cut} byte(s): {reason}")
        del buf[:cut]
