"""Login throttling on a clock of its own: back-off grows, and nobody is locked out."""

from __future__ import annotations

from offhook.settings.login_throttle import ACCOUNT, LoginThrottle


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
    # The user, from another address, logs in at once.
    assert throttle.attempt("anna", "198.51.100.7") == 0
    throttle.succeeded("anna", "198.51.100.7")


def test_a_distributed_guesser_is_slowed_but_cannot_keep_the_user_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for n in range(200):
        address = f"10.0.{n // 250}.{n % 250}"
        assert throttle.attempt("Anna", address) == 0  # each address's first guess
    # Each guessing address now waits for the account, at most ACCOUNT.longest …
    wait = throttle.attempt("anna", "10.0.0.1")
    assert 0 < wait <= ACCOUNT.longest
    # … while a correct password from an address without failures is accepted at once.
    assert throttle.attempt("anna", "192.0.2.10") == 0
    throttle.succeeded("anna", "192.0.2.10")
    assert throttle.attempt("anna", "192.0.2.10") == 0


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
