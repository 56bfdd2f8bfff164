"""Login throttling on a clock of its own: back-off grows, and nobody is locked out."""

from __future__ import annotations

from offhook.settings.login_throttle import ACCOUNT, DeviceCookies, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_guessing_from_one_address_waits_ever_longer() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    waits = []  # before each counted guess
    while len(waits) < 12:
        wait = throttle.attempt("anna", "203.0.113.5")
        if wait:
            clock.now += wait  # the guesser waits exactly as long as told
        waits.append(wait)
        if wait:
            assert throttle.attempt("anna", "203.0.113.5") == 0
    assert waits[:6] == [0, 0, 0, 1, 2, 4]
    assert waits[-1] == 2**8
    # The user, from another address, in a browser they have logged in with, logs in at once.
    assert throttle.attempt("anna", "198.51.100.7", device="anna's laptop") == 0
    throttle.succeeded("anna", "198.51.100.7", device="anna's laptop")


def test_a_distributed_guesser_shares_one_allowance_for_the_account() -> None:
    """60 addresses with 3 guesses each: the account's back-off holds across all of them."""
    clock = Clock()
    throttle = LoginThrottle(clock)
    checked = 0
    for n in range(60):
        for _ in range(3):
            clock.now += 1  # a guess a second, all day
            if throttle.attempt("Anna", f"10.0.0.{n}") == 0:
                checked += 1
    # Five free guesses, then one after 1, 2, 4 … 64 seconds: 180 seconds allow 12.
    assert checked == ACCOUNT.free + 7
    # A new address waits as well, and is told how long.
    assert throttle.attempt("anna", "192.0.2.10") > 0


def test_the_users_own_browser_is_not_slowed_by_the_guesser() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for n in range(100):
        throttle.attempt("anna", f"10.0.0.{n}")
    assert throttle.attempt("anna", "10.0.0.200") > 0
    # With a device cookie for the account, from any address, the user logs in at once.
    assert throttle.attempt("anna", "10.0.0.200", device="phone") == 0
    throttle.succeeded("anna", "10.0.0.200", device="phone")
    assert throttle.attempt("anna", "10.0.0.1", device="laptop") == 0
    throttle.succeeded("anna", "10.0.0.1", device="laptop")
    # The guessers' wait is not lifted by the user's logins.
    assert throttle.attempt("anna", "10.0.0.7") > 0


def test_a_device_is_slowed_by_its_own_failures_only() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    waits = []
    for _ in range(6):
        wait = throttle.attempt("anna", "192.0.2.1", device="stolen")
        clock.now += wait
        if wait:
            assert throttle.attempt("anna", "192.0.2.1", device="stolen") == 0
        waits.append(wait)
    assert waits == [0, 0, 0, 1, 2, 4]
    # Another of the user's browsers, and a new browser, are not slowed by them.
    assert throttle.attempt("anna", "192.0.2.1", device="laptop") == 0
    assert throttle.attempt("anna", "192.0.2.1") == 0


def test_device_cookies_vouch_for_their_own_account_only() -> None:
    cookies = DeviceCookies("the server's secret")
    cookie = cookies.issue("Anna")
    device = cookies.device(cookie, " anna ")
    assert device
    assert cookies.device(cookies.issue("anna", device), "ANNA") == device  # renewed, same id
    assert cookies.device(cookie, "bob") is None  # another account's
    assert cookies.device(cookie[:-2] + "xx", "anna") is None  # forged
    assert DeviceCookies("another secret").device(cookie, "anna") is None
    assert cookies.device("", "anna") is None
    assert cookies.device("not.a.cookie", "anna") is None


def test_success_takes_back_the_attempt_and_forgets_the_pairs_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(3):
        assert throttle.attempt("anna", "192.0.2.1") == 0
    assert throttle.attempt("anna", "192.0.2.1") > 0
    clock.now += 3600 * 2  # an hour after the last failure, they are forgotten
    for _ in range(50):  # a user who logs in all day is never throttled
        assert throttle.attempt("anna", "192.0.2.1") == 0
        throttle.succeeded("anna", "192.0.2.1")


def test_one_address_spraying_many_accounts_is_slowed() -> None:
    throttle = LoginThrottle(Clock())
    waits = [throttle.attempt(f"user{n}", "203.0.113.9") for n in range(12)]
    assert waits[:10] == [0] * 10
    assert waits[10] > 0
