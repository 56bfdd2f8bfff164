"""Replays: the same signed request twice is applied once.

sipgate and Placetel sign the body only, with no time in it; so a request recorded and sent
again verifies as well as the first time. The guard remembers every accepted request (its
digest) for a while and refuses it when it comes again. After that window (or a restart) a
replay is still harmless: its call is already in the store, and the state machine only moves a
call forward, so a repeated "new call" or "hang up" changes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

#: How long a request is remembered, in seconds.
WINDOW = 15 * 60.0
#: The most requests remembered: a busy account's quarter of an hour, a few hundred kilobytes.
CAPACITY = 50_000


class ReplayGuard:
    def __init__(
        self,
        window: float = WINDOW,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.capacity = capacity
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    @staticmethod
    def key(*parts: bytes) -> bytes:
        digest = hashlib.sha256()
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.digest()

    def first_time(self, key: bytes) -> bool:
        """True the first time `key` is seen within the window (and remembers it)."""
        now = self._clock()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at <= self.window and len(self._seen) < self.capacity:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    def forget(self, key: bytes) -> None:
        """A request taken but not applied (refused after this check, or not stored): its
        sender's next try is a first time."""
        self._seen.pop(key, None)
