"""What could not be normalized: stored numbers that are invalid or no number at all.

Listed from the rows themselves (not from a run), so the list is right whichever run
normalized a number, and it shrinks as people fix their addresses. Pages go by channel id
(`after`), which stays cheap however far one pages.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, contains_eager

from offhook.directory.names import CHANNEL_LABELS, display_name
from offhook.directory.normalization.job import PROBLEM_KINDS
from offhook.directory.normalization.values import NUMBER_KINDS
from offhook.settings.language import N_
from offhook.store import Store
from offhook.store.models import Address, Channel

# Shown translated (`offhook.settings.number_problems`), like the parser's problems.
NO_NUMBER = N_("no phone number: empty, or a word such as “unknown”")
NOT_VALID = N_("not a valid number")
PAGE_SIZE = 50
REPORT_COLUMNS = ("address_id", "address", "link", "channel", "number_as_entered", "reason")


@dataclass(frozen=True, slots=True)
class Problem:
    """One stored number that could not be normalized, and why."""

    channel_id: int
    address_id: int
    address_name: str
    channel_kind: str
    number_as_entered: str
    reason: str

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel_kind, self.channel_kind)


def problems(session: Session, after: int = 0, limit: int = PAGE_SIZE) -> list[Problem]:
    """The next `limit` problems after channel id `after`, in channel order."""
    company = aliased(Address)
    query = (
        select(Channel)
        .join(Channel.address)
        .outerjoin(company, Address.company_id == company.id)
        .where(
            Channel.id > after,
            Channel.kind.in_(NUMBER_KINDS),
            Channel.number_kind.in_(PROBLEM_KINDS),
        )
        .options(contains_eager(Channel.address).contains_eager(Address.company, alias=company))
        .order_by(Channel.id)
        .limit(limit)
    )
    return [
        Problem(
            channel_id=channel.id,
            address_id=channel.address_id,
            address_name=display_name(channel.address),
            channel_kind=channel.kind,
            number_as_entered=channel.value,
            reason=channel.normalize_error
            or (NO_NUMBER if channel.number_kind == "withheld" else NOT_VALID),
        )
        for channel in session.scalars(query).unique()
    ]


def all_problems(store: Store, page_size: int = 1000) -> Iterator[Problem]:
    """Every problem, a page per transaction."""
    after = 0
    while True:
        with store.session() as session:
            page = problems(session, after, page_size)
        yield from page
        if len(page) < page_size:
            return
        after = page[-1].channel_id


def write_report(store: Store, path: Path, base_url: str) -> int:
    """Write every problem to a CSV file (UTF-8 with BOM, so Excel reads it); return how many."""
    count = 0
    base = base_url.rstrip("/")
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for problem in all_problems(store):
            writer.writerow(
                (
                    problem.address_id,
                    problem.address_name,
                    f"{base}/addresses/{problem.address_id}",
                    problem.channel_label,
                    problem.number_as_entered,
                    problem.reason,
                )
            )
            count += 1
    return count
