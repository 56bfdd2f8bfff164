"""Login throttling: password guessing slows down exponentially, without locking anyone out.

Failures are counted three ways, each with its own back-off:

- per account and client address: a few free tries, then the wait doubles with each failure
  (1, 2, 4 … seconds, at most 15 minutes). This is what stops a guesser.
- per client address, whatever the account: the same, with more free tries, so that one address
  cannot spray passwords over many accounts.
- per account, across addresses: grows slower and is capped at a minute, and applies only to
  addresses that have failed for the account themselves. A distributed guesser is slowed, but
  the user, from an address with no failures, logs in at once: nobody can keep them out.

The counts are kept in memory, per server: a failed login writes nothing, so guessing cannot
fill the database or slow the store for everyone; with several servers a guesser gets each
server's allowance, which the doubling keeps small. Restarting a server forgets them. Records
are forgotten an hour after their last failure, and at most `MAX_RECORDS` of each kind are
kept (the oldest go first).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FORGET_AFTER = 3600.0
MAX_RECORDS = 50_000


@dataclass(frozen=True, slots=True)
class BackOff:
    free: int  # failures before any wait
    doubling_every: int  # failures per doubling of the wait
    longest: float  # seconds

    def wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        steps = (failures - self.free) // self.doubling_every
        return float(min(2.0**steps, self.longest))


PAIR = BackOff(free=3, doubling_every=1, longest=15 * 60.0)
ADDRESS = BackOff(free=10, doubling_every=1, longest=15 * 60.0)
ACCOUNT = BackOff(free=10, doubling_every=5, longest=60.0)


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class _Counter:
    def __init__(self) -> None:
        self._records: OrderedDict[object, _Failures] = OrderedDict()

    def get(self, key: object, now: float) -> _Failures | None:
        record = self._records.get(key)
        if record is not None and now - record.last > FORGET_AFTER:
            del self._records[key]
            return None
        return record

    def fail(self, key: object, now: float) -> None:
        record = self.get(key, now)
        if record is None:
            record = self._records[key] = _Failures(0, now)
        record.count += 1
        record.last = now
        self._records.move_to_end(key)
        while len(self._records) > MAX_RECORDS:
            self._records.popitem(last=False)

    def undo(self, key: object, now: float) -> None:
        """Take back one failure counted ahead of time."""
        record = self.get(key, now)
        if record is not None:
            record.count -= 1
            if record.count <= 0:
                del self._records[key]

    def forget(self, key: object) -> None:
        self._records.pop(key, None)


class LoginThrottle:
    """Asked before a password is checked, told how it went after."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pairs = _Counter()
        self._addresses = _Counter()
        self._accounts = _Counter()

    def attempt(self, login: str, address: str) -> int:
        """Seconds until `login` may be tried from `address`, or 0: then the attempt counts as
        failed until `succeeded` says otherwise (so that a burst of parallel guesses is counted
        before any of them is checked)."""
        account = login.strip().casefold()
        now = self._clock()
        with self._lock:
            until = now
            pair = self._pairs.get((account, address), now)
            if pair is not None:
                until = max(until, pair.last + PAIR.wait(pair.count))
                accounts = self._accounts.get(account, now)
                if accounts is not None:
                    until = max(until, accounts.last + ACCOUNT.wait(accounts.count))
            here = self._addresses.get(address, now)
            if here is not None:
                until = max(until, here.last + ADDRESS.wait(here.count))
            if until > now:
                return math.ceil(until - now)
            self._pairs.fail((account, address), now)
            self._addresses.fail(address, now)
            self._accounts.fail(account, now)
            return 0

    def unchecked(self, login: str, address: str) -> None:
        """The attempt could not be checked (the database failed): it counts as nothing."""
        account = login.strip().casefold()
        now = self._clock()
        with self._lock:
            self._pairs.undo((account, address), now)
            self._addresses.undo(address, now)
            self._accounts.undo(account, now)

    def succeeded(self, login: str, address: str) -> None:
        """The right password: the attempt was no failure, and this address's earlier
        failures for the account are forgiven."""
        account = login.strip().casefold()
        now = self._clock()
        with self._lock:
            self._pairs.forget((account, address))
            self._addresses.undo(address, now)
            self._accounts.undo(account, now)
