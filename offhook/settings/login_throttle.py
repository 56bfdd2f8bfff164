"""Login throttling: password guessing slows down exponentially, without locking anyone out.

A browser that has logged in to an account gets a device cookie for it (signed with the
server's secret, kept for a year, renewed at each login; OWASP's "device cookies"). An attempt
is counted one of two ways:

- With a valid device cookie for the account (the user's own browsers): only failures made
  with that same cookie count, a few free tries and then a wait that doubles with each
  failure (1, 2, 4 … seconds, at most 15 minutes). Nothing a guesser does elsewhere slows
  these browsers, so nobody can keep a user out of a browser they have used before.
- Without one (a new browser, a guesser): three back-offs, and the longest wait holds.
  - per account and client address: three free tries, then the wait doubles with each
    failure, at most 15 minutes.
  - per client address, whatever the account: the same with ten free tries, so that one
    address cannot spray passwords over many accounts.
  - per account, across every client without a device cookie for it: five free tries, then
    the wait doubles with each failure, at most 15 minutes. A guesser with many addresses
    shares this one allowance: 17 guesses for an account in the first hour and four an hour
    after, however many addresses they use. A user on a new browser meets the same wait
    while the account is being guessed; the message says so, and that a browser they have
    logged in with before is not affected.

A device cookie names one account (the last one logged in with in that browser) and a random
id; a cookie for another account, an expired one or one not signed with this server's secret
counts as none. Taken from the user's browser, a cookie only gives its thief the allowance of
that browser, itself throttled.

The counts are kept in memory, per server: a failed login writes nothing, so guessing cannot
fill the database or slow the store for everyone; with several servers a guesser gets each
server's allowance, which the doubling keeps small. Restarting a server forgets them. Records
are forgotten an hour after their last failure, and at most `MAX_RECORDS` of each kind are
kept (the oldest go first).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

FORGET_AFTER = 3600.0
MAX_RECORDS = 50_000
#: Seconds a device cookie is valid (renewed at each login).
DEVICE_MAX_AGE = 365 * 24 * 3600
_DEVICE_SALT = "offhook.login-device"


def account_of(login: str) -> str:
    """The account a typed login names, as offhook finds users (spaces and case ignored)."""
    return login.strip().casefold()


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
ACCOUNT = BackOff(free=5, doubling_every=1, longest=15 * 60.0)
DEVICE = BackOff(free=3, doubling_every=1, longest=15 * 60.0)


class DeviceCookies:
    """Device cookies for logins: signed, naming an account and a random device id."""

    def __init__(self, secret: str) -> None:
        self._signed = URLSafeTimedSerializer(secret, salt=_DEVICE_SALT)

    def issue(self, login: str, device: str | None = None) -> str:
        """A cookie value for `login`'s account, keeping `device`'s id if given."""
        return self._signed.dumps([account_of(login), device or secrets.token_urlsafe(16)])

    def device(self, cookie: str | None, login: str) -> str | None:
        """The device id in `cookie` if it is a valid device cookie for `login`'s account."""
        if not cookie:
            return None
        try:
            value = self._signed.loads(cookie, max_age=DEVICE_MAX_AGE)
        except BadSignature:  # forged, from another server's secret, or expired
            return None
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(part, str) for part in value)
            and value[0] == account_of(login)
        ):
            return str(value[1])
        return None


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

    def until(self, key: object, now: float, back_off: BackOff) -> float:
        """When the next attempt for `key` may be made (`now` or earlier: at once)."""
        record = self.get(key, now)
        return now if record is None else record.last + back_off.wait(record.count)

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
    """Asked before a password is checked, told how it went after.

    `device` is the id of a valid device cookie for the account (`DeviceCookies.device`), or
    None for a client without one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pairs = _Counter()
        self._addresses = _Counter()
        self._accounts = _Counter()
        self._devices = _Counter()

    def attempt(self, login: str, address: str, device: str | None = None) -> int:
        """Seconds until `login` may be tried from `address` (or with `device`), or 0: then the
        attempt counts as failed until `succeeded` says otherwise (so that a burst of parallel
        guesses is counted before any of them is checked)."""
        account = account_of(login)
        now = self._clock()
        with self._lock:
            if device is not None:
                until = self._devices.until((account, device), now, DEVICE)
                if until > now:
                    return math.ceil(until - now)
                self._devices.fail((account, device), now)
                return 0
            until = max(
                self._pairs.until((account, address), now, PAIR),
                self._addresses.until(address, now, ADDRESS),
                self._accounts.until(account, now, ACCOUNT),
            )
            if until > now:
                return math.ceil(until - now)
            self._pairs.fail((account, address), now)
            self._addresses.fail(address, now)
            self._accounts.fail(account, now)
            return 0

    def unchecked(self, login: str, address: str, device: str | None = None) -> None:
        """The attempt could not be checked (the database failed): it counts as nothing."""
        account = account_of(login)
        now = self._clock()
        with self._lock:
            if device is not None:
                self._devices.undo((account, device), now)
                return
            self._pairs.undo((account, address), now)
            self._addresses.undo(address, now)
            self._accounts.undo(account, now)

    def succeeded(self, login: str, address: str, device: str | None = None) -> None:
        """The right password: the attempt was no failure, and the earlier failures of this
        device (or this address, for the account) are forgiven. The account's failures from
        elsewhere stay: a guesser gains nothing from the user logging in."""
        account = account_of(login)
        now = self._clock()
        with self._lock:
            if device is not None:
                self._devices.forget((account, device))
                return
            self._pairs.forget((account, address))
            self._addresses.undo(address, now)
            self._accounts.undo(account, now)
