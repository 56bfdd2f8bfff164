"""The normalized form of one stored number, and of many at once in worker processes.

`normalized` is the one rule for what the store keeps beside a number as entered. Saving an
address (`offhook.directory.names.normalize_channel`), the bulk job, imports and synthetic data all
call it, so a number looks the same however it got into the store:

- the number is read in the home country (Settings › Telephony);
- if that gives no number and the address is in another country, it is read there: a German
  client's "089 3816 230" is a Munich number;
- mobile numbers head no number blocks.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from types import TracebackType
from typing import NamedTuple, TypeVar

from offhook.numbers import NumberingPlan, NumberKind, parse, switchboard_prefix

NUMBER_KINDS = frozenset({"phone", "mobile", "fax"})
PARALLEL_FROM = 40_000  # numbers; below this, starting worker processes costs more than it saves

Batch = TypeVar("Batch")


class Normalized(NamedTuple):
    """The normalized columns of a channel (all None for an e-mail address)."""

    e164: str | None
    number_kind: str | None
    block_prefix: str | None
    normalize_error: str | None


NOT_A_NUMBER = Normalized(None, None, None, None)


# What a worker gets for one number: its kind, the value as entered, and the country of its
# address (ISO code; the company's for a contact person without one; "" if none).
Entry = tuple[str, str, str]


def normalized(kind: str, value: str, plan: NumberingPlan, country: str = "") -> Normalized:
    """What the store keeps beside a channel's value as entered, on an address in `country`."""
    if kind not in NUMBER_KINDS:
        return NOT_A_NUMBER
    parsed = parse(value, plan)
    if parsed.kind is not NumberKind.EXTERNAL and country:
        abroad = _plan_abroad(country.upper(), plan)
        if abroad is not None:
            there = parse(value, abroad)
            if there.kind is NumberKind.EXTERNAL:
                parsed = there
    # Mobile numbers head no number blocks: a company's switchboard is never a mobile.
    block = switchboard_prefix(parsed, value) if kind != "mobile" else None
    return Normalized(parsed.e164, parsed.kind.value, block, parsed.error)


@lru_cache(maxsize=512)
def _plan_abroad(country: str, plan: NumberingPlan) -> NumberingPlan | None:
    """The numbering plan of an address's country, if it is not the home one: no area code,
    the home phone system's prefixes."""
    if country == plan.country:
        return None
    try:
        return NumberingPlan(
            country=country,
            outside_line=plan.outside_line,
            internal_max_length=plan.internal_max_length,
        )
    except ValueError:
        return None


def normalized_batch(entries: list[Entry], plan: NumberingPlan) -> list[Normalized]:
    # Address books repeat numbers (a company's switchboard on each contact person's record):
    # each distinct one is parsed once per batch.
    seen: dict[Entry, Normalized] = {}
    results = []
    for entry in entries:
        result = seen.get(entry)
        if result is None:
            result = seen[entry] = normalized(entry[0], entry[1], plan, entry[2])
        results.append(result)
    return results


# --- worker processes --------------------------------------------------------------------------

_worker_plan: NumberingPlan | None = None


def _start_worker(plan: NumberingPlan) -> None:
    global _worker_plan
    _worker_plan = plan


def _in_worker(pairs: list[Entry]) -> list[Normalized]:
    assert _worker_plan is not None, "worker started without a numbering plan"
    return normalized_batch(pairs, _worker_plan)


def default_workers(amount: int) -> int:
    """How many worker processes pay off for `amount` numbers: none for few, else one per core."""
    cores = os.cpu_count() or 1
    if amount < PARALLEL_FROM or cores < 2:
        return 0
    return min(cores, 8)


class Normalizer:
    """Normalizes batches of entries (kind, value, country): here, or in `workers` processes.

    Parsing is pure CPU work and the GIL keeps threads from sharing it, so large jobs use
    processes; they are spawned (not forked) because the server runs threads that a fork would
    copy in an unknown state.
    """

    def __init__(self, plan: NumberingPlan, workers: int = 0) -> None:
        self.plan = plan
        self.workers = max(0, workers)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Normalizer:
        if self.workers:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.plan,),
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, pairs: list[Entry]) -> Future[list[Normalized]]:
        if self._pool is not None:
            return self._pool.submit(_in_worker, pairs)
        done: Future[list[Normalized]] = Future()
        done.set_result(normalized_batch(pairs, self.plan))
        return done

    def pipeline(
        self, batches: Iterable[Batch], pairs_of: Callable[[Batch], list[Entry]]
    ) -> Iterator[tuple[Batch, list[Normalized]]]:
        """Each batch with its normalized values, in order.

        A few batches are in flight at once, so the workers parse while the caller reads and
        writes the database; no more than that, so memory stays flat however many there are.
        Rather than wait for a worker, this process parses the next batch itself.
        """
        pending: deque[tuple[Batch, Future[list[Normalized]], bool]] = deque()
        depth = 2 * self.workers  # batches the workers have at once
        limit = 3 * depth  # batches held at once, parsed or not
        source = iter(batches)
        exhausted = False
        with_workers = 0
        while True:
            while not exhausted and with_workers < depth and len(pending) < limit:
                batch = next(source, None)
                if batch is None:
                    exhausted = True
                else:
                    pending.append((batch, self.submit(pairs_of(batch)), True))
                    with_workers += 1
            if not pending:
                batch = None if exhausted else next(source, None)
                if batch is None:
                    return
                yield batch, normalized_batch(pairs_of(batch), self.plan)
                continue
            ready, future, by_worker = pending[0]
            if not future.done() and not exhausted and len(pending) < limit:
                batch = next(source, None)
                if batch is None:
                    exhausted = True
                else:
                    # The workers are busy: parse one here, to be written in its turn.
                    done: Future[list[Normalized]] = Future()
                    done.set_result(normalized_batch(pairs_of(batch), self.plan))
                    pending.append((batch, done, False))
                continue
            pending.popleft()
            with_workers -= by_worker
            yield ready, future.result()
